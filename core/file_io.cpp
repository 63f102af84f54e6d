#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <streambuf>
#include <set>

#include "core/error.h"

namespace mm {
namespace fs = std::filesystem;
using nlohmann::json;

// --- Input files ----------------------------------------------------------------------------------

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}
FileHandle& FileHandle::operator=(FileHandle&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

namespace {
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
}  // namespace

FileHandle open_regular_file(const std::string& path, const std::string& what, uint64_t* size_out) {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one; the mode is
  // then checked on the open descriptor (no window between a stat and the open).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(path + ": no such file (" + what + ")");
    throw Error(path + ": cannot open " + what + ": " + std::strerror(err));
  }
  FileHandle h(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) throw Error(path + ": cannot stat " + what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path + ": " + what + " is " + kind_of(st.st_mode) + ", expected a regular file");
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  if (size_out) *size_out = static_cast<uint64_t>(st.st_size);
  return h;
}

std::string read_regular_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  uint64_t size = 0;
  FileHandle h = open_regular_file(path, what, &size);
  if (size > max_bytes)
    throw Error(path + ": " + what + " is " + std::to_string(size) + " bytes, more than the limit of " +
                std::to_string(max_bytes) + " bytes");
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(h.fd(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": reading " + what + " failed: " + std::strerror(errno));
    }
    if (n == 0) break;  // the file shrank while we read it
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

bool is_plain_file_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

// --- JSON -----------------------------------------------------------------------------------------

namespace {
// Builds the DOM from nlohmann's SAX events, refusing as it goes: a container nested deeper than the
// limit (before its content costs memory), and a key repeated within one object (ambiguous: nlohmann
// keeps the last, other parsers the first). nlohmann's own callback parser is not used: on every
// object end it scans the parent object for discarded entries, which made a header of n tensors cost
// O(n^2) (100k tensors: minutes).
class BoundedDomBuilder : public json::json_sax_t {
 public:
  BoundedDomBuilder(json& root, const std::string& file, const JsonLimits& limits, const std::string& top_noun)
      : root_(root), file_(file), limits_(limits), top_noun_(top_noun) {}

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override { return put(std::move(v)); }
  bool binary(binary_t& v) override { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) override { return open(json::value_t::object); }
  bool start_array(std::size_t) override { return open(json::value_t::array); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    Frame& f = frames_.back();
    if (!f.keys.insert(k).second) {
      const char* why = " (a JSON parser would silently keep only one of the entries)";
      if (frames_.size() == 1 && !top_noun_.empty() && k != "__metadata__")
        throw Error(file_ + ": " + top_noun_ + " '" + k + "' appears more than once in the JSON header; names must be unique" +
                    why);
      const std::string where = frames_.size() == 1 ? "at the top level"
                                : f.parent.empty()  ? "in a nested object"
                                                    : "in '" + f.parent + "'";
      throw Error(file_ + ": key '" + k + "' appears more than once " + where + "; keys must be unique" + why);
    }
    f.last = k;
    slot_ = &(*f.value)[k];
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw Error(file_ + ": malformed JSON: " + e.what());
  }

 private:
  struct Frame {
    json* value = nullptr;
    std::set<std::string> keys;
    std::string parent;  // the key under which this container sits, for messages
    std::string last;    // the most recent key of this object
  };
  // Stores a value where the parser is: the root, the next array element, or the slot of the last key.
  template <class V> json* place(V&& v) {
    if (frames_.empty()) {
      root_ = json(std::forward<V>(v));
      return &root_;
    }
    json& top = *frames_.back().value;
    if (top.is_array()) {
      top.emplace_back(std::forward<V>(v));
      return &top.back();
    }
    *slot_ = json(std::forward<V>(v));
    return slot_;
  }
  template <class V> bool put(V&& v) {
    place(std::forward<V>(v));
    return true;
  }
  bool open(json::value_t t) {
    if (static_cast<int>(frames_.size()) >= limits_.max_depth)
      throw Error(file_ + ": JSON nesting deeper than " + std::to_string(limits_.max_depth) +
                  " levels (a hostile or corrupt document)");
    Frame f;
    if (!frames_.empty()) f.parent = frames_.back().value->is_object() ? frames_.back().last : frames_.back().parent;
    f.value = place(t);
    frames_.push_back(std::move(f));
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }

  json& root_;
  const std::string& file_;
  const JsonLimits& limits_;
  const std::string& top_noun_;
  std::vector<Frame> frames_;
  json* slot_ = nullptr;
};
}  // namespace

json parse_json_text(std::string_view text, const std::string& file, const JsonLimits& limits,
                     const std::string& top_noun) {
  if (text.size() > limits.max_bytes)
    throw Error(file + ": JSON document of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                std::to_string(limits.max_bytes) + " bytes");
  json root;
  BoundedDomBuilder b(root, file, limits, top_noun);
  json::sax_parse(text.begin(), text.end(), &b);
  return root;
}

json read_json_file(const std::string& path, const std::string& what, const JsonLimits& limits) {
  return parse_json_text(read_regular_file(path, what, limits.max_bytes), path, limits);
}

// --- Outputs --------------------------------------------------------------------------------------

namespace {
// Every regular file under `p` (to `depth` levels of subdirectories). No cap on the count: a cut-short
// listing could leave out the very file an output would overwrite; listing is linear and cheap.
void add_tree(const fs::path& p, int depth, std::vector<std::string>& out) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (ec) return;
  if (fs::is_regular_file(st)) {
    out.push_back(p.string());
  } else if (fs::is_directory(st) && depth > 0) {
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) add_tree(it->path(), depth - 1, out);
  }
}

constexpr std::size_t kTempSuffix = 13;  // "." + name + ".tmp-XXXXXX"
}  // namespace

void InputSet::add(const std::string& path, int dir_depth) {
  std::vector<std::string> files;
  add_tree(fs::path(path), dir_depth, files);
  for (const auto& f : files) {
    struct stat st{};
    if (::stat(f.c_str(), &st) != 0) continue;
    ids_.push_back({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), f});
  }
}

void InputSet::add_stdin() {
  struct stat st{};
  if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode))  // `< file`: that file is an input like any other
    ids_.push_back({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), "standard input"});
}

void InputSet::check_output(const std::string& out, const std::string& option) const {
  if (out.empty()) throw Error(option + ": the output path is empty");
  const fs::path p(out);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw Error(option + " " + out + ": expected a file path, not a directory");
  if (name.size() + kTempSuffix > 255)
    throw Error(option + " " + out + ": the file name is " + std::to_string(name.size()) +
                " bytes; at most " + std::to_string(255 - kTempSuffix) +
                " fit (the output is written through a temporary file beside it)");
  struct stat st{};
  if (::stat(out.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw Error(option + " " + out + ": is " + kind_of(st.st_mode) + ", expected a path for a regular output file");
    for (const auto& id : ids_)
      if (id.dev == static_cast<uint64_t>(st.st_dev) && id.ino == static_cast<uint64_t>(st.st_ino))
        throw Error(option + " " + out + ": this is an input of the run (" + id.path +
                    "); refusing to overwrite it. Choose another output path");
  }
  // The directory it goes in: the nearest existing ancestor must be a writable directory (missing
  // directories below it are created by the writers that create them), checked now rather than after
  // the run.
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  while (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOTDIR) throw Error(option + " " + out + ": a component of " + dir.string() + " is not a directory");
    if (errno != ENOENT || dir == "." || dir == dir.root_path())
      throw Error(option + " " + out + ": cannot use directory " + dir.string() + ": " + std::strerror(errno));
    dir = dir.has_parent_path() && dir.parent_path() != dir ? dir.parent_path() : fs::path(".");
  }
  if (!S_ISDIR(st.st_mode))
    throw Error(option + " " + out + ": " + dir.string() + " is " + kind_of(st.st_mode) + ", not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(option + " " + out + ": directory " + dir.string() + " is not writable: " + std::strerror(errno));
}

namespace {
// An output stream over a file descriptor (the temporary file mkstemp opened): writing through the
// descriptor rather than reopening the name leaves no window in which another name could be swapped in.
class FdStreambuf : public std::streambuf {
 public:
  explicit FdStreambuf(int fd) : fd_(fd), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  bool failed() const { return failed_; }
  int error() const { return errno_; }
  int sync() override { return flush_buffer() ? 0 : -1; }

 protected:
  int_type overflow(int_type c) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }

 private:
  bool flush_buffer() {
    const char* q = pbase();
    while (q < pptr()) {
      const ssize_t n = ::write(fd_, q, static_cast<std::size_t>(pptr() - q));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_ = true;
        errno_ = errno;
        return false;
      }
      q += n;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return true;
  }
  int fd_;
  std::vector<char> buf_;
  bool failed_ = false;
  int errno_ = 0;
};
}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) fs::create_directories(dir, ec);  // as InputSet::check_output allowed
  if (ec) throw Error(path + ": cannot create the directory " + dir.string() + ": " + ec.message());
  std::string name = ".";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "." + string + "..."
  name += p.filename().string();
  name += ".tmp-XXXXXX";
  std::string tmpl = (dir / name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
  FileHandle h(fd);
  auto fail = [&](const std::string& why) { throw Error(path + ": " + why); };
  try {
    FdStreambuf sb(fd);
    std::ostream f(&sb);
    write(f);
    f.flush();
    if (!f || sb.failed()) fail(std::string("writing failed: ") + std::strerror(sb.failed() ? sb.error() : EIO));
    // An existing output keeps its permissions; a new one gets the usual ones (mkstemp made it 0600).
    struct stat st{};
    mode_t mode = 0;
    if (::stat(path.c_str(), &st) == 0) {
      mode = st.st_mode & 07777;
    } else {
      const mode_t um = ::umask(0);
      ::umask(um);
      mode = 0666 & ~um;
    }
    if (::fchmod(fd, mode) != 0) fail(std::string("cannot set the file mode: ") + std::strerror(errno));
    // On disk before the rename: after a crash the path holds the old content or the new, never an empty file.
    if (::fsync(fd) != 0) fail(std::string("flushing to disk failed: ") + std::strerror(errno));
    if (std::rename(tmpl.c_str(), path.c_str()) != 0)
      fail(std::string("cannot move the written file into place: ") + std::strerror(errno));
  } catch (...) {  // the writer's own error, or ours above: no temporary file is left behind
    fs::remove(tmpl, ec);
    throw;
  }
}

}  // namespace mm
