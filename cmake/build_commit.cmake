# Run at every build (cli/CMakeLists.txt, target mm_build_commit): writes OUT, a C++ file with the commit
# the binary is built from (`minimax01 --version`), "+modified" when tracked files differ from it. OUT is
# rewritten only when that changes, so an unchanged tree recompiles nothing.
# usage: cmake -DSRC=<source dir> -DOUT=<file.cpp> -P build_commit.cmake
execute_process(COMMAND git -C "${SRC}" rev-parse HEAD RESULT_VARIABLE rc OUTPUT_VARIABLE commit
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown (not built from a git checkout)")
else()
  # --no-optional-locks: a build running beside a `git commit` must not take the index lock from it.
  execute_process(COMMAND git --no-optional-locks -C "${SRC}" status --porcelain --untracked-files=no RESULT_VARIABLE rc
                  OUTPUT_VARIABLE changes ERROR_QUIET)
  if(rc EQUAL 0 AND NOT changes STREQUAL "")
    string(APPEND commit "+modified")
  endif()
endif()
# A bracket argument: the semicolons stay C++'s, not CMake list separators.
string(CONFIGURE [=[// Generated at build time by cmake/build_commit.cmake; do not edit.
namespace mm::cli {
const char* build_commit() { return "@commit@"; }
}  // namespace mm::cli
]=] content @ONLY)
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()
