#include "harness/golden_case.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "harness/backend.h"

namespace mm::golden {
namespace fs = std::filesystem;

std::string default_golden_root() { return MM_GOLDEN_DIR; }

std::vector<std::string> case_dirs(const std::string& golden_root) {
  std::vector<std::string> out;
  const fs::path root = fs::path(golden_root) / "cases";
  if (fs::is_directory(root))
    for (auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "manifest.json")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Case load_case(const std::string& dir) {
  Case c;
  c.dir = dir;
  c.name = fs::path(dir).filename().string();
  if (c.name.empty()) c.name = fs::path(dir).parent_path().filename().string();
  if (!fs::is_directory(dir)) throw Error(dir + ": no such golden case directory");
  const std::string mf = (fs::path(dir) / "manifest.json").string(), inf = (fs::path(dir) / "inputs.json").string();
  c.manifest = read_json_file(mf, "golden manifest");
  const nlohmann::json in = read_json_file(inf, "golden inputs");
  try {
    c.prompt = in.at("prompt_tokens").get<std::vector<int64_t>>();
    c.decode = in.at("decode_tokens").get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(inf + ": expected integer lists prompt_tokens and decode_tokens: " + e.what());
  }
  return c;
}

harness::TensorMap expected_tensors(const Case& c) {
  const std::string path = (fs::path(c.dir) / "expected.safetensors").string();
  if (!fs::exists(path)) throw Error(c.dir + ": golden case has no expected.safetensors");
  SafetensorsFile f(path);
  harness::TensorMap out;
  for (const auto& [n, t] : f.tensors()) out[n] = Tensor{t.shape, read_f64(t)};
  return out;
}

template <class P> std::map<std::string, Tensor> run_case(const Case& c) {
  const harness::LoadedModel m{c.dir, load_config(c.dir)};
  auto b = harness::registry().make(P::kName, m);
  return harness::run_sequence(*b, c.prompt, c.decode);
}

template std::map<std::string, Tensor> run_case<ref::F64>(const Case&);
template std::map<std::string, Tensor> run_case<ref::F32>(const Case&);
template std::map<std::string, Tensor> run_case<ref::BF16>(const Case&);

Diff compare(const Tensor& got, const std::vector<double>& want, const std::vector<int64_t>& want_shape) {
  Diff d;
  if (got.shape != want_shape || got.values.size() != want.size()) {
    d.shape_ok = false;
    return d;
  }
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = got.values[i] - want[i];
    if (std::isnan(got.values[i]) || std::isnan(want[i])) { d.max_abs = d.rel_fro = INFINITY; return d; }
    num += e * e;
    den += want[i] * want[i];
    d.max_abs = std::max(d.max_abs, std::abs(e));
  }
  d.rel_fro = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return d;
}

}  // namespace mm::golden
