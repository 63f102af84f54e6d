// count_params: a program built with pkg-config alone (no CMake), against the installed reference:
//   g++ -std=c++20 count_params.cpp $(pkg-config --cflags --libs minimax01) -o count_params
// Prints MiniMax-Text-01's parameter counts from its preset, then writes the seeded `tiny` checkpoint
// into <work dir>/tiny-pc and runs a prompt through the fp64 reference (mm::ref::Model<F64>).
// tests/package/install_and_consume.sh builds and runs it against a fresh install.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "core/config.h"
#include "core/safetensors.h"
#include "reference/model.h"
#include "reference/precision.h"
#include "reference/synthetic.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: count_params <work dir>\n");
    return 2;
  }
  try {
    const mm::ParamCount full = mm::count_params(mm::preset_config("minimax-text-01"));
    std::printf("minimax-text-01: %llu parameters, %llu active per token\n",
                static_cast<unsigned long long>(full.total), static_cast<unsigned long long>(full.active));

    // The whole tiny model in the fp64 oracle: greedy next token after a short prompt.
    const std::string dir = (std::filesystem::path(argv[1]) / "tiny-pc").string();
    std::filesystem::create_directories(dir);
    const mm::ModelConfig cfg = mm::preset_config("tiny");
    mm::ref::write_synthetic_checkpoint(dir, cfg, {});
    const mm::Checkpoint ckpt(dir);
    const mm::ref::Model<mm::ref::F64> model(cfg, mm::ref::load_weights<mm::ref::F64>(ckpt, cfg));
    auto cache = model.new_cache();
    const auto logits = model.forward(mm::ModelInput{1, 2, 3}, cache);
    Eigen::Index next = 0;
    logits.row(logits.rows() - 1).maxCoeff(&next);
    std::printf("tiny (fp64 reference): logits [%lld x %lld], greedy next token %lld\n",
                static_cast<long long>(logits.rows()), static_cast<long long>(logits.cols()),
                static_cast<long long>(next));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "count_params: error: %s\n", e.what());
    return 3;
  }
}
