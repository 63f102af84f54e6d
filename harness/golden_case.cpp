#include "harness/golden_case.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

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

namespace {

// A JSON value as quoted in an error, cut when long.
std::string quoted(const nlohmann::json& v) {
  std::string d = v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (d.size() > 40) d = d.substr(0, 32) + "... (" + std::to_string(d.size()) + " characters)";
  return d;
}

// inputs.json's `key`: an array of integers in the int64 range. A fraction (1.5), a number written with a
// fraction or exponent (2.0, 1e300) or an integer beyond int64 (18446744073709551615) is refused, naming
// the file, the key and the element's index, never truncated or wrapped.
std::vector<int64_t> token_array(const nlohmann::json& in, const char* key, const std::string& file) {
  const auto it = in.find(key);
  if (it == in.end()) throw Error(file + ": missing '" + key + "' (expected an array of integer token ids)");
  if (!it->is_array())
    throw Error(file + ": " + key + ": expected an array of integer token ids, got " + it->type_name() + " " +
                quoted(*it));
  std::vector<int64_t> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& e = (*it)[i];
    const bool fits = e.is_number_integer() &&
                      (!e.is_number_unsigned() ||
                       e.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    if (!fits)
      throw Error(file + ": " + key + "[" + std::to_string(i) + "]: expected an integer token id in the int64 range, got " +
                  quoted(e));
    out.push_back(e.get<int64_t>());
  }
  return out;
}

}  // namespace

Case load_case(const std::string& dir) {
  Case c;
  c.dir = dir;
  c.name = fs::path(dir).filename().string();
  if (c.name.empty()) c.name = fs::path(dir).parent_path().filename().string();
  if (dir.empty()) throw Error("golden case directory: the path is empty");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found) throw Error(dir + ": no such golden case directory");
  if (ec) throw Error(dir + ": cannot access the golden case directory: " + ec.message());
  if (!fs::is_directory(st))
    throw Error(dir + ": not a directory (a golden case is a directory holding manifest.json, inputs.json, "
                      "config.json, the checkpoint and expected.safetensors)");
  const std::string mf = (fs::path(dir) / "manifest.json").string(), inf = (fs::path(dir) / "inputs.json").string();
  c.manifest = read_json_file(mf, "golden manifest");
  const nlohmann::json in = read_json_file(inf, "golden inputs");
  if (!in.is_object())
    throw Error(inf + ": expected an object with prompt_tokens and decode_tokens, got " + in.type_name());
  c.prompt = token_array(in, "prompt_tokens", inf);
  c.decode = token_array(in, "decode_tokens", inf);
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
  const harness::LoadedModel m = harness::load_model(c.dir);
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
