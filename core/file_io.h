// Reading untrusted input files and writing outputs without ever damaging an input.
//
// Inputs: only regular files are read. A FIFO, device, socket or directory where a file belongs is
// refused by name before a byte is read (opened with O_NONBLOCK, so a FIFO with no writer cannot
// block us), and every read is bounded by a size limit given by the caller.
//
// JSON: every document the project reads (safetensors headers, config.json, shard indexes, reports,
// golden manifests) goes through parse_json_text: a size limit, a nesting-depth limit checked while
// parsing (nlohmann's parser is iterative, but a deeply nested value would still be built and later
// walked recursively), and keys unique within every object (a repeated key is ambiguous: parsers
// differ on which one wins).
//
// Outputs: InputSet collects the files a run reads (resolved through symlinks, `..` and hard links by
// device + inode); check_output refuses an output path that is one of them, or that names a directory
// or another non-regular file. write_file_atomic writes to a temporary file in the destination's
// directory and renames it over the destination only once everything was written and flushed, so a
// failure never leaves a half-written file and never truncates what was there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm {

// --- Input files ----------------------------------------------------------------------------------

// An open file descriptor, closed on destruction.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(FileHandle&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileHandle& operator=(FileHandle&& o) noexcept;
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Opens `path` for reading if it is a regular file; otherwise throws mm::Error
// "<path>: <what> is a FIFO (named pipe), expected a regular file" (or a directory, a device, ...).
// `size_out` receives the file size. Never blocks on a FIFO.
FileHandle open_regular_file(const std::string& path, const std::string& what, uint64_t* size_out = nullptr);

// The whole content of a regular file of at most max_bytes (else an error naming the size and limit).
std::string read_regular_file(const std::string& path, const std::string& what, uint64_t max_bytes);

// True when `name` names a file directly inside a directory: not empty, not "." or "..", no path
// separator ('/' or '\\') and no NUL. Names read from a file (a shard index) must pass before use.
bool is_plain_file_name(const std::string& name);

// --- JSON -----------------------------------------------------------------------------------------

struct JsonLimits {
  uint64_t max_bytes = 64ull << 20;  // 64 MiB: a report of a long check is a few MiB, an index of 100k tensors ~10 MiB
  int max_depth = 64;                // our documents nest at most ~8 deep
};

// Parses `text` (named `file` in errors) under `limits`, refusing a key repeated within any object.
// `top_noun` names what a top-level key is, for the duplicate message ("tensor" in a safetensors
// header); empty = "key". Throws mm::Error naming the file and what is wrong (with the parse position).
nlohmann::json parse_json_text(std::string_view text, const std::string& file, const JsonLimits& limits = {},
                               const std::string& top_noun = "");

// read_regular_file + parse_json_text.
nlohmann::json read_json_file(const std::string& path, const std::string& what, const JsonLimits& limits = {});

// --- Outputs --------------------------------------------------------------------------------------

// The files a run reads. Outputs are checked against them before anything is written.
class InputSet {
 public:
  // A file, or a directory: then every regular file in it, to `dir_depth` levels of subdirectories
  // (a checkpoint: config.json, the safetensors files, the index). Paths that do not exist are skipped
  // (the read itself will report them).
  void add(const std::string& path, int dir_depth = 1);
  // Standard input, when it is a regular file (`< tokens.txt` with `--tokens-file -`).
  void add_stdin();
  // Throws mm::Error when `out` (given through option `option`, e.g. "--dump") is one of the inputs
  // (same device + inode: symlinks, `..` and hard links included), exists and is not a regular file,
  // has a name too long for its temporary file, or cannot be written (its nearest existing ancestor is
  // not a writable directory): all checked before a run, not found out after it.
  void check_output(const std::string& out, const std::string& option) const;
  std::size_t size() const { return ids_.size(); }

 private:
  struct Id {
    uint64_t dev = 0, ino = 0;
    std::string path;
  };
  std::vector<Id> ids_;
};

// Writes `path` (creating missing parent directories) through `write` into a temporary file beside it (written through the descriptor
// mkstemp opened, given the old file's mode or the umask's, fsync'ed), then renames it over `path`.
// On any failure (the writer throws, the disk fills) the temporary file is removed and `path` is left
// as it was. Throws mm::Error naming `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace mm
