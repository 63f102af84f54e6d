#include "harness/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/file_io.h"
#include "core/vl_config.h"
#include "harness/report_schema.h"
#include "reference/blas_cpu.h"
#if MM_SIMT
#include "optimized/model/cuda_model_loader.h"  // the GPU the cuda backend runs on
#endif

namespace mm::harness {
namespace {

std::string run_capture(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string proc_field(const char* file, const char* key) {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) {
      const auto c = line.find(':');
      if (c == std::string::npos) continue;
      std::string v = line.substr(c + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

}  // namespace

nlohmann::json tool_json() {
  // At run time, so a report names the tree it ran from (configure-time values go stale).
  const std::string src = MM_SOURCE_DIR;
  const std::string commit = run_capture("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  const std::string dirty = run_capture("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null");
  return {{"name", "minimax01"},
          {"git_commit", commit.empty() ? "unknown" : commit},
          {"git_dirty", !dirty.empty()},
          {"build_type", MM_BUILD_TYPE},
          {"compiler", __VERSION__}};
}

// The GEMM library and the kernels it runs (reference/blas_cpu.h): a 3-6x difference on some CPUs.
std::string blas_description() {
#ifdef EIGEN_USE_BLAS
  const ref::BlasKernels k = ref::blas_kernels();
  return k.library + (k.core.empty() ? std::string() : ", kernels " + k.core + " (" + k.how + ")");
#else
  return "Eigen built-in GEMM";
#endif
}

std::vector<double> load_average() {
  std::ifstream f("/proc/loadavg");
  std::vector<double> v(3);
  if (!(f >> v[0] >> v[1] >> v[2])) return {};
  return v;
}

// The GPU the `cuda` backend runs on (name, architecture, SMs, memory), null without one.
nlohmann::json gpu_json() {
#if MM_SIMT
  const std::string d = cuda_model::gpu_description();
  return d.empty() ? nlohmann::json() : nlohmann::json(d);
#else
  return nullptr;
#endif
}

nlohmann::json machine_json() {
  utsname u{};
  uname(&u);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string mem = proc_field("/proc/meminfo", "MemTotal");  // "N kB"
  return {{"hostname", host},
          {"os", std::string(u.sysname) + " " + u.release},
          {"arch", u.machine},
          {"cpu", proc_field("/proc/cpuinfo", "model name")},
          {"logical_cores", std::thread::hardware_concurrency()},
          {"memory_bytes", mem.empty() ? 0 : std::stoll(mem) * 1024},
          {"blas", blas_description()},
          {"gpu", gpu_json()}};
}

nlohmann::json model_json(const LoadedModel& m, const std::string& label) {
  const ParamCount p = count_params(m.config);
  nlohmann::json j = {{"source", label},
          {"dir", m.dir},
          {"config", config_to_json(m.config, ConfigSpelling::Official)},
          {"params_total", p.total},
          {"params_active", p.active},
          {"layer_pattern", [&] {
             std::string s;
             for (auto t : m.config.layer_types) s += t == LayerType::Lightning ? 'L' : 'S';
             return s;
           }()}};
  // MiniMax-VL-01: the whole config (vision tower, projector, image token, grid pinpoints) beside the
  // text model's, so that compare refuses reports of two VL models that differ only in their vision side.
  if (m.vl) j["vl_config"] = vl_config_to_json(*m.vl, ConfigSpelling::Official);
  // --weights other than auto: the reference backends' residency was chosen (docs/memory.md)
  if (m.weights != WeightResidency::Auto) j["weights"] = to_string(m.weights);
  // A slice run (a slice checkpoint, --layers; docs/slices.md): the layers it went through
  if (m.config.is_slice()) j["layers"] = run_layers_string(m.config);
  return j;
}

nlohmann::json new_report(const std::string& kind, const std::string& command_line) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char ts[64];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"schema", kReportSchema}, {"schema_version", kReportSchemaVersion}, {"kind", kind},
          {"created_utc", ts},       {"command", command_line},                {"tool", tool_json()},
          {"machine", machine_json()}, {"complete", true}};
}

void mark_interrupted(nlohmann::json& report, const Interruption& where) {
  report["complete"] = false;
  report["interrupted"] = {{"signal", where.signal},
                           {"during", where.during},
                           {"steps_done", where.steps_done},
                           {"steps_total", where.steps_total >= 0 ? nlohmann::json(where.steps_total) : nlohmann::json()}};
}

bool report_complete(const nlohmann::json& report) {
  const auto c = report.find("complete");
  return c == report.end() || !c->is_boolean() || c->get<bool>();  // validate_report refuses a non-boolean
}

std::string describe_interruption(const nlohmann::json& report) {
  const auto it = report.find("interrupted");
  if (it == report.end() || !it->is_object()) return "interrupted";
  const nlohmann::json& i = *it;
  auto text = [&](const char* k) { return i.contains(k) && i[k].is_string() ? i[k].get<std::string>() : std::string("?"); };
  std::string s = "interrupted by " + text("signal") + " during " + text("during");
  if (i.contains("steps_done") && i["steps_done"].is_number_integer()) {
    s += ", after " + std::to_string(i["steps_done"].get<int64_t>());
    if (i.contains("steps_total") && i["steps_total"].is_number_integer())
      s += " of " + std::to_string(i["steps_total"].get<int64_t>());
    s += " steps";
  }
  return s;
}

void write_report(const std::string& path, const nlohmann::json& report) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  // Atomic: a failed write leaves any earlier report at `path` intact and no partial file.
  write_file_atomic(path, [&](std::ostream& f) { f << report_text(report); });
}

std::string report_text(const nlohmann::json& report) { return report.dump(1) + "\n"; }

nlohmann::json parse_report_text(std::string_view text, const std::string& name) {
  nlohmann::json j = parse_json_text(text, name);
  validate_report(j, name);
  return j;
}

nlohmann::json read_report(const std::string& path) {
  if (path.empty()) throw Error("a report file argument is empty (expected the path of a report JSON file)");
  return parse_report_text(read_regular_file(path, "the report", JsonLimits{}.max_bytes), path);
}

}  // namespace mm::harness
