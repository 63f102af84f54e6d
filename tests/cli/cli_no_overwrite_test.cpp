// No run ever damages its own inputs: every output option pointed at a file the run reads (the
// checkpoint's weights, a shard, the index, config.json, a report being rendered, a token file) is
// refused before anything runs, through symlinks, `..` and hard links, and the input's SHA-256 is the
// same afterwards. init does not write into a non-empty directory without --force.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "reference/synthetic.h"
#include "tests/core/test_util.h"

namespace mm {
namespace fs = std::filesystem;

namespace {
// Runs the CLI, returns its exit code; stderr goes to `err`.
int run_cli(const std::string& args, const test::TempDir& d, std::string* err = nullptr) {
  const std::string errf = d.file("stderr.txt");
  const int rc = std::system((std::string(MM_CLI) + " " + args + " > /dev/null 2> " + errf).c_str());
  if (err) {
    std::ifstream f(errf);
    err->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

std::map<std::string, std::string> checksums(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().filename().string()] = sha256_file(e.path().string());
  return out;
}

// A tiny checkpoint, sharded (index + 3 or more shards) when `sharded`.
std::string make_checkpoint(const test::TempDir& d, const std::string& name, bool sharded) {
  ref::SyntheticOptions opt;
  opt.seed = 3;
  if (sharded) opt.max_shard_bytes = 2 << 20;  // ~8 MB of weights: 4 or 5 shards
  ref::write_synthetic_checkpoint(d.file(name), preset_config("tiny"), opt);
  return d.file(name);
}

// The command must fail (exit 3, a runtime error; no signal) naming the option and the input, and leave every file of
// the checkpoint byte-identical.
void expect_refused(const test::TempDir& d, const std::string& ckpt, const std::string& args, const std::string& option) {
  const auto before = checksums(ckpt);
  std::string err;
  const int rc = run_cli(args, d, &err);
  EXPECT_EQ(rc, 3) << args << "\n" << err;
  EXPECT_NE(err.find(option), std::string::npos) << err;
  EXPECT_NE(err.find("input of the run"), std::string::npos) << err;
  EXPECT_EQ(checksums(ckpt), before) << "an input changed: " << args;
}
}  // namespace

TEST(CliNoOverwrite, ForwardDumpOntoAnyCheckpointFileIsRefused) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  const std::string fwd = "forward --model " + m + " --tokens 1,2,3 --dump ";
  expect_refused(d, m, fwd + m + "/model.safetensors", "--dump");
  expect_refused(d, m, fwd + m + "/config.json", "--dump");
  fs::create_directory(d.file("tiny/sub"));
  expect_refused(d, m, fwd + m + "/sub/../model.safetensors", "--dump");
  fs::create_symlink(m + "/model.safetensors", d.file("link.safetensors"));
  expect_refused(d, m, fwd + d.file("link.safetensors"), "--dump");
  fs::create_hard_link(m + "/config.json", d.file("hard.json"));
  expect_refused(d, m, fwd + d.file("hard.json"), "--dump");
  // A fresh path is written, and the checkpoint still loads afterwards.
  EXPECT_EQ(run_cli(fwd + d.file("out.safetensors"), d), 0);
  EXPECT_EQ(run_cli(fwd + d.file("out.safetensors"), d), 0);  // and overwritten: it is not an input
}

TEST(CliNoOverwrite, ShardsAndIndexOfAShardedCheckpointAreProtected) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "sharded", true);
  ASSERT_TRUE(fs::exists(m + "/model.safetensors.index.json"));
  int shards = 0;
  for (auto& e : fs::directory_iterator(m))
    if (e.path().extension() == ".safetensors") {
      ++shards;
      expect_refused(d, m, "forward --model " + m + " --tokens 1 --dump " + e.path().string(), "--dump");
    }
  EXPECT_GE(shards, 2);
  expect_refused(d, m, "forward --model " + m + " --tokens 1 --dump " + m + "/model.safetensors.index.json", "--dump");
}

TEST(CliNoOverwrite, HarnessReportsAndRenderedPagesNeverReplaceInputs) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  expect_refused(d, m, "check --model " + m + " --report " + m + "/model.safetensors", "--report");
  expect_refused(d, m, "bench --model " + m + " --report " + m + "/config.json", "--report");
  expect_refused(d, m, "soak --duration 1s --model " + m + " --report " + m + "/model.safetensors", "--report");
  // report --out onto one of the reports it renders.
  fs::create_directory(d.file("reps"));
  test::write_bytes(d.file("reps/a.json"), "{\"schema\": \"minimax01-report\"}");
  expect_refused(d, d.file("reps"), "report " + d.file("reps/a.json") + " --out " + d.file("reps/a.json"), "--out");
}

TEST(CliNoOverwrite, TokenFileIsAnInputToo) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  fs::create_directory(d.file("toks"));
  test::write_bytes(d.file("toks/prompt.txt"), "1 2 3\n");
  expect_refused(d, d.file("toks"),
                 "forward --model " + m + " --tokens-file " + d.file("toks/prompt.txt") + " --dump " + d.file("toks/prompt.txt"),
                 "--dump");
}

TEST(CliNoOverwrite, InitIntoANonEmptyDirectoryNeedsForce) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", true);  // sharded: --force must not leave stale shards
  const auto before = checksums(m);
  std::string err;
  EXPECT_EQ(run_cli("init --preset tiny --seed 9 --out " + m, d, &err), 3);
  EXPECT_NE(err.find("not empty"), std::string::npos) << err;
  EXPECT_NE(err.find("--force"), std::string::npos) << err;
  EXPECT_EQ(checksums(m), before);
  test::write_bytes(d.file("afile"), "x");
  EXPECT_EQ(run_cli("init --preset tiny --out " + d.file("afile"), d, &err), 3);
  EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
  // With --force the directory holds exactly the new checkpoint (no shard or index of the old one left).
  ASSERT_EQ(run_cli("init --preset tiny --seed 9 --force --out " + m, d, &err), 0) << err;
  EXPECT_FALSE(fs::exists(m + "/model.safetensors.index.json"));
  EXPECT_EQ(checksums(m).size(), 2u) << "config.json and model.safetensors";
  EXPECT_NO_THROW(Checkpoint{m});
}

TEST(CliNoOverwrite, AFailedDumpLeavesNoPartialFile) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  test::write_bytes(d.file("old.safetensors"), "previous dump");
  // A token out of range fails after the guard and before the write: the old file stays as it was.
  EXPECT_EQ(run_cli("forward --model " + m + " --tokens 1,99999 --dump " + d.file("old.safetensors"), d), 3);
  EXPECT_EQ(sha256_file(d.file("old.safetensors")), sha256_hex("previous dump"));
  for (auto& e : fs::directory_iterator(d.path))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

// init --force replaces the checkpoint (config, index, the shards it names, model.safetensors) and
// nothing else: a dump or any other file beside it stays.
TEST(CliNoOverwrite, InitForceRemovesOnlyTheOldCheckpointsFiles) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", true);
  test::write_bytes(m + "/mydump.safetensors", "a dump of the user's");
  test::write_bytes(m + "/notes.txt", "notes");
  fs::create_directory(m + "/x.safetensors");
  std::string err;
  ASSERT_EQ(run_cli("init --preset tiny --seed 9 --force --out " + m, d, &err), 0) << err;
  EXPECT_EQ(sha256_file(m + "/mydump.safetensors"), sha256_hex("a dump of the user's"));
  EXPECT_TRUE(fs::exists(m + "/notes.txt"));
  EXPECT_TRUE(fs::is_directory(m + "/x.safetensors"));
  EXPECT_FALSE(fs::exists(m + "/model.safetensors.index.json"));
  for (auto& e : fs::directory_iterator(m))
    EXPECT_EQ(e.path().filename().string().find("-of-"), std::string::npos) << "a shard of the old checkpoint: " << e.path();
  EXPECT_NO_THROW(Checkpoint{m});
}

TEST(CliNoOverwrite, StandardInputRedirectedFromTheDumpPathIsProtected) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  fs::create_directory(d.file("toks"));
  test::write_bytes(d.file("toks/t.txt"), "1 2 3");
  expect_refused(d, d.file("toks"),
                 "forward --model " + m + " --tokens-file - --dump " + d.file("toks/t.txt") + " < " + d.file("toks/t.txt"),
                 "--dump");
}

TEST(CliNoOverwrite, AnUnwritableOutputFailsBeforeTheRun) {
  test::TempDir d;
  const std::string m = make_checkpoint(d, "tiny", false);
  std::string err;
  EXPECT_EQ(run_cli("check --model " + m + " --report " + m + "/config.json/x.json", d, &err), 3);
  EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
  EXPECT_EQ(err.find("PASS"), std::string::npos) << "refused before the check ran";
  // A dump into directories that do not exist yet: created.
  ASSERT_EQ(run_cli("forward --model " + m + " --tokens 1,2 --dump " + d.file("a/b/out.safetensors"), d, &err), 0) << err;
  EXPECT_TRUE(fs::exists(d.file("a/b/out.safetensors")));
}

}  // namespace mm
