// core/file_io: non-regular inputs refused without blocking, bounded JSON (depth, size, duplicate keys,
// overflowing numbers, linear time on wide documents), outputs never resolving to an input, atomic writes.
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace mm {
namespace fs = std::filesystem;

TEST(FileIo, ReadsARegularFile) {
  test::TempDir d;
  test::write_bytes(d.file("a.txt"), "hello");
  EXPECT_EQ(read_regular_file(d.file("a.txt"), "test file", 100), "hello");
}

TEST(FileIo, RefusesNonRegularFilesByNameWithoutBlocking) {
  test::TempDir d;
  ASSERT_EQ(::mkfifo(d.file("fifo").c_str(), 0600), 0);
  // A FIFO with no writer: open() without O_NONBLOCK would wait forever.
  EXPECT_MM_ERROR(read_regular_file(d.file("fifo"), "config file", 100), "fifo", "config file is a FIFO", "expected a regular file");
  fs::create_directory(d.file("dir"));
  EXPECT_MM_ERROR(read_regular_file(d.file("dir"), "config file", 100), "config file is a directory");
  EXPECT_MM_ERROR(read_regular_file("/dev/null", "index", 100), "/dev/null", "character device");
  EXPECT_MM_ERROR(read_regular_file(d.file("missing"), "index", 100), "missing", "no such file");
}

TEST(FileIo, RefusesAFileOverTheSizeLimit) {
  test::TempDir d;
  test::write_bytes(d.file("big"), std::string(101, 'x'));
  EXPECT_MM_ERROR(read_regular_file(d.file("big"), "report", 100), "big", "101 bytes", "limit of 100");
}

TEST(FileIo, JsonDepthLimitStopsDeepNestingWithAClearError) {
  const std::string deep(1000000, '[');  // recursion over this would overflow the stack
  EXPECT_MM_ERROR(parse_json_text(deep, "deep.json"), "deep.json", "nesting deeper than 64");
  std::string objs;
  for (int i = 0; i < 100000; ++i) objs += "{\"a\":";
  EXPECT_MM_ERROR(parse_json_text(objs, "objs.json"), "objs.json", "nesting deeper than");
  // At the limit itself a document parses.
  JsonLimits lim;
  lim.max_depth = 3;
  EXPECT_NO_THROW(parse_json_text("[[[1]]]", "ok.json", lim));
  EXPECT_MM_ERROR(parse_json_text("[[[[1]]]]", "x.json", lim), "nesting deeper than 3");
}

TEST(FileIo, JsonRefusesDuplicateKeysAtAnyDepth) {
  EXPECT_MM_ERROR(parse_json_text(R"({"a": 1, "a": 2})", "c.json"), "c.json", "key 'a' appears more than once at the top level");
  EXPECT_MM_ERROR(parse_json_text(R"({"x": [{"b": 1, "b": 1}]})", "c.json"), "key 'b'", "in 'x'");
  EXPECT_MM_ERROR(parse_json_text(R"({"t": {}, "t": {}})", "h", {}, "tensor"), "tensor 't' appears more than once");
  // Equal keys in different objects are fine.
  const auto j = parse_json_text(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]})", "ok.json");
  EXPECT_EQ(j["c"][1]["k"], 4);
  EXPECT_EQ(j["b"]["k"], 2);
}

TEST(FileIo, JsonRefusesMalformedOversizedAndOverflowingInput) {
  EXPECT_MM_ERROR(parse_json_text("{\"a\": ", "m.json"), "m.json", "malformed JSON");
  EXPECT_MM_ERROR(parse_json_text("[1e400]", "n.json"), "n.json", "malformed JSON", "number overflow");
  JsonLimits lim;
  lim.max_bytes = 10;
  EXPECT_MM_ERROR(parse_json_text("[1,2,3,4,5,6]", "s.json", lim), "s.json", "13 bytes exceeds the limit of 10");
}

TEST(FileIo, JsonBuildsTheSameValueAsNlohmann) {
  const std::string text = R"({"a": [1, -2, 3.5, "s", true, null, {"b": []}], "c": {"d": {"e": 18446744073709551615}}})";
  EXPECT_EQ(parse_json_text(text, "x"), nlohmann::json::parse(text));
}

// A wide document (a safetensors header of 200k tensors) parses in linear time: nlohmann's callback
// parser, used before, rescanned the parent object at every object end (100k tensors took minutes).
// The ctest TIMEOUT of this suite (60 s, tests/core/CMakeLists.txt) fails a quadratic regression.
TEST(FileIo, WideDocumentParsesInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i)
    text += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
  text += "}";
  const auto j = parse_json_text(text, "wide");
  EXPECT_EQ(j.size(), 200000u);
}

TEST(FileIo, OutputThatIsAnInputIsRefusedThroughLinksAndDotDot) {
  test::TempDir d;
  fs::create_directory(d.file("ckpt"));
  test::write_bytes(d.file("ckpt/model.safetensors"), "weights");
  test::write_bytes(d.file("ckpt/config.json"), "{}");
  fs::create_directory(d.file("ckpt/sub"));
  InputSet in;
  in.add(d.file("ckpt"));
  EXPECT_EQ(in.size(), 2u);
  EXPECT_MM_ERROR(in.check_output(d.file("ckpt/model.safetensors"), "--dump"), "--dump", "input of the run", "refusing to overwrite");
  EXPECT_MM_ERROR(in.check_output(d.file("ckpt/sub/../config.json"), "--dump"), "input of the run");
  fs::create_symlink(d.file("ckpt/model.safetensors"), d.file("link"));
  EXPECT_MM_ERROR(in.check_output(d.file("link"), "--report"), "--report", "input of the run");
  fs::create_hard_link(d.file("ckpt/config.json"), d.file("hard"));
  EXPECT_MM_ERROR(in.check_output(d.file("hard"), "--out"), "--out", "input of the run");
  // A new file, or an existing file that is not an input, is a fine output.
  EXPECT_NO_THROW(in.check_output(d.file("new.safetensors"), "--dump"));
  test::write_bytes(d.file("old.json"), "x");
  EXPECT_NO_THROW(in.check_output(d.file("old.json"), "--dump"));
  // A directory or a FIFO is no output file.
  EXPECT_MM_ERROR(in.check_output(d.file("ckpt"), "--dump"), "is a directory");
  ASSERT_EQ(::mkfifo(d.file("fifo").c_str(), 0600), 0);
  EXPECT_MM_ERROR(in.check_output(d.file("fifo"), "--dump"), "FIFO");
  EXPECT_MM_ERROR(in.check_output("", "--dump"), "--dump", "empty");
}

TEST(FileIo, AtomicWriteLeavesTheOldFileWhenTheWriterFails) {
  test::TempDir d;
  test::write_bytes(d.file("out.json"), "old content");
  EXPECT_THROW(write_file_atomic(d.file("out.json"),
                                 [](std::ostream& o) {
                                   o << "half";
                                   throw Error("writer failed");
                                 }),
               Error);
  EXPECT_EQ(read_regular_file(d.file("out.json"), "out", 100), "old content");
  // ... and no temporary file behind.
  int n = 0;
  for (auto& e : fs::directory_iterator(d.path)) n += (e.path().filename() != "out.json");
  EXPECT_EQ(n, 0);
  write_file_atomic(d.file("out.json"), [](std::ostream& o) { o << "new"; });
  EXPECT_EQ(read_regular_file(d.file("out.json"), "out", 100), "new");
  struct stat st{};
  ASSERT_EQ(::stat(d.file("out.json").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0044, 0u) << "an output is created with the usual permissions (umask), not 0600";
}

TEST(FileIo, AtomicWriteThroughASymlinkReplacesTheLinkNotItsTarget) {
  test::TempDir d;
  test::write_bytes(d.file("target"), "keep me");
  fs::create_symlink(d.file("target"), d.file("out"));
  write_file_atomic(d.file("out"), [](std::ostream& o) { o << "new"; });
  EXPECT_EQ(read_regular_file(d.file("target"), "t", 100), "keep me");
  EXPECT_EQ(read_regular_file(d.file("out"), "o", 100), "new");
}

TEST(FileIo, OutputDirectoryProblemsAreFoundBeforeTheRun) {
  test::TempDir d;
  InputSet in;
  test::write_bytes(d.file("afile"), "x");
  EXPECT_MM_ERROR(in.check_output(d.file("afile/out.json"), "--report"), "--report", "afile", "not a directory");
  EXPECT_MM_ERROR(in.check_output(d.file("afile/new/out.json"), "--report"), "not a directory");
  EXPECT_MM_ERROR(in.check_output(d.file(std::string(250, 'n')), "--dump"), "--dump", "250 bytes", "at most 242");
  EXPECT_MM_ERROR(in.check_output(d.file("sub/.."), "--out"), "not a directory");
  // Missing directories below a writable one are fine: the writer creates them.
  EXPECT_NO_THROW(in.check_output(d.file("new/deeper/out.json"), "--report"));
  write_file_atomic(d.file("new/deeper/out.json"), [](std::ostream& o) { o << "{}"; });
  EXPECT_EQ(read_regular_file(d.file("new/deeper/out.json"), "out", 10), "{}");
}

TEST(FileIo, StandardInputRedirectedFromAFileIsAnInput) {
  test::TempDir d;
  test::write_bytes(d.file("tokens.txt"), "1 2 3");
  const int saved = ::dup(0);
  const int fd = ::open(d.file("tokens.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, 0);
  ::close(fd);
  InputSet in;
  in.add_stdin();
  ::dup2(saved, 0);
  ::close(saved);
  EXPECT_MM_ERROR(in.check_output(d.file("tokens.txt"), "--dump"), "standard input");
}

TEST(FileIo, AtomicWriteKeepsTheModeOfTheFileItReplaces) {
  test::TempDir d;
  test::write_bytes(d.file("private.json"), "old");
  ASSERT_EQ(::chmod(d.file("private.json").c_str(), 0600), 0);
  write_file_atomic(d.file("private.json"), [](std::ostream& o) { o << "new"; });
  struct stat st{};
  ASSERT_EQ(::stat(d.file("private.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

}  // namespace mm
