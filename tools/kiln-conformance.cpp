//===- kiln-conformance.cpp - run ONNX backend test folders ---------------===//
//
// Runs each test folder in its own kiln-run process, so a crash or a hang
// fails that test only, and checks the results against an expectations
// file listing every test expected not to pass, with its reason.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KILN_SANITIZED 1
#endif
#endif
#if !defined(KILN_SANITIZED) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define KILN_SANITIZED 1
#endif
#ifndef KILN_SANITIZED
#define KILN_SANITIZED 0
#endif

namespace {

const char *kUsage = R"(usage: kiln-conformance DIR... [options]

Runs every ONNX backend test folder (model.onnx + test_data_set_*) under each
DIR with kiln-run, one isolated process per test, and prints one line per
test: PASS, FAIL or UNSUPPORTED with the reason, then
"N passed, N failed, N skipped" (skipped = unsupported).

options:
  --filter REGEX          run only tests whose name matches
  --jobs N                tests run at once (default: number of cores)
  --timeout SEC           per-test time limit (default 300)
  --json FILE             write per-test results as JSON
  --expectations FILE     tests expected not to pass, one per line:
                          "NAME  reason" (default: the repository's
                          test/conformance/expectations.txt; "none" disables)
  --update-expectations   rewrite the expectations file from this run
  --dynamic               import every test with all input dims unknown
                          (kiln-run --dynamic). A test whose code could not
                          be compiled for unknown dims but passes compiled
                          per shape counts as passed, prints PASS with
                          "per-shape" and its reason, and must be listed in
                          the expectations (default for this mode:
                          test/conformance/expectations-dynamic.txt)
  --help                  this text

Exit status: 0 when every test passes or is listed, and no listed test
passes; 1 otherwise; 2 on bad usage.
)";

struct Result {
  /// perShape: why a passing test was compiled per shape (--dynamic only).
  std::string name, path, status, reason, perShape;
  double ms = 0, createMs = -1;
};

bool isDir(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool isFile(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void findTests(const std::string &dir, std::vector<std::pair<std::string, std::string>> &out,
               int depth = 0) {
  if (isFile(dir + "/model.onnx")) {
    std::string name = dir.substr(dir.find_last_of('/') + 1);
    out.emplace_back(name, dir);
    return;
  }
  if (depth > 3)
    return;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return;
  std::vector<std::string> children;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.')
      children.push_back(e->d_name);
  closedir(d);
  std::sort(children.begin(), children.end());
  for (const auto &c : children)
    if (isDir(dir + "/" + c))
      findTests(dir + "/" + c, out, depth + 1);
}

std::string selfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return ".";
  buf[n] = 0;
  std::string p = buf;
  return p.substr(0, p.find_last_of('/'));
}

std::string lastLine(const std::string &text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
    t.pop_back();
  auto p = t.find_last_of('\n');
  return p == std::string::npos ? t : t.substr(p + 1);
}

Result runOne(const std::string &runner, const std::string &name, const std::string &path,
              int timeoutSec, bool dynamic) {
  Result r{name, path, "FAIL", "", "", 0, -1};
  char outName[] = "/tmp/kiln-conformance-XXXXXX";
  int fd = mkstemp(outName);
  if (fd < 0) {
    r.reason = "cannot create a temporary file";
    return r;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    setpgid(0, 0);
    // A runaway test must not take the machine down with it. (Sanitizers
    // reserve terabytes of address space for their shadow memory, so there
    // the bound is on resident memory, through their own option.)
#if KILN_SANITIZED
    setenv("ASAN_OPTIONS", (std::string(getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "") +
                            ":hard_rss_limit_mb=16384").c_str(), 1);
#else
    struct rlimit mem = {16ULL << 30, 16ULL << 30};
    setrlimit(RLIMIT_AS, &mem);
#endif
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    execl(runner.c_str(), runner.c_str(), path.c_str(), "--threads", "1", "--no-cache",
          dynamic ? "--dynamic" : (char *)nullptr, (char *)nullptr);
    _exit(127);
  }
  close(fd);
  int status = 0;
  bool timedOut = false;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid)
      break;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(timeoutSec)) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timedOut = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::ifstream in(outName);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(outName);
  std::string output = ss.str();
  if (timedOut) {
    r.reason = "timed out after " + std::to_string(timeoutSec) + " s";
  } else if (WIFSIGNALED(status)) {
    r.reason = std::string("crashed: ") + strsignal(WTERMSIG(status));
  } else if (WEXITSTATUS(status) == 0) {
    r.status = "PASS";
    auto p = output.find("session created in ");
    if (p != std::string::npos)
      r.createMs = std::atof(output.c_str() + p + 19);
    const std::string perShape = "; shapes per-shape (";
    p = output.find(perShape);
    if (dynamic && p != std::string::npos) {
      r.perShape = lastLine(output.substr(p + perShape.size()));
      if (!r.perShape.empty() && r.perShape.back() == ')')
        r.perShape.pop_back();
    }
  } else {
    r.reason = lastLine(output);
    const std::string prefix = "kiln-run: error: ";
    if (r.reason.rfind(prefix, 0) == 0)
      r.reason = r.reason.substr(prefix.size());
    if (r.reason.find("unsupported") != std::string::npos ||
        r.reason.find("not supported") != std::string::npos)
      r.status = "UNSUPPORTED";
    if (r.reason.empty())
      r.reason = "exit status " + std::to_string(WEXITSTATUS(status));
  }
  // Keep reasons one line and free of the machine's paths.
  for (std::string *text : {&r.reason, &r.perShape}) {
    auto pos = text->find(path);
    if (pos != std::string::npos)
      text->replace(pos, path.size(), name);
  }
  return r;
}

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if ((unsigned char)c < 0x20)
      o += ' ';
    else
      o += c;
  }
  return o;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> dirs;
  std::string filter, jsonPath, expectationsPath;
  int jobs = std::max(1u, std::thread::hardware_concurrency()), timeoutSec = 300;
  bool update = false, dynamic = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "kiln-conformance: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--filter") {
      filter = next();
    } else if (a == "--jobs") {
      jobs = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--timeout") {
      timeoutSec = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--json") {
      jsonPath = next();
    } else if (a == "--expectations") {
      expectationsPath = next();
    } else if (a == "--update-expectations") {
      update = true;
    } else if (a == "--dynamic") {
      dynamic = true;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "kiln-conformance: unknown option '" << a << "' (see --help)\n";
      return 2;
    } else {
      dirs.push_back(a);
    }
  }
  if (dirs.empty()) {
    std::cerr << "kiln-conformance: no test folder given (see --help)\n";
    return 2;
  }
  if (expectationsPath.empty())
    expectationsPath = std::string(KILN_EXPECTATIONS_DIR) +
                       (dynamic ? "/expectations-dynamic.txt" : "/expectations.txt");
  std::regex re;
  try {
    re = std::regex(filter.empty() ? ".*" : filter);
  } catch (const std::regex_error &e) {
    std::cerr << "kiln-conformance: bad --filter: " << e.what() << "\n";
    return 2;
  }

  std::vector<std::pair<std::string, std::string>> tests, all;
  for (const auto &d : dirs) {
    if (!isDir(d)) {
      std::cerr << "kiln-conformance: '" << d << "' is not a folder\n";
      return 2;
    }
    findTests(d, all);
  }
  for (auto &t : all)
    if (std::regex_search(t.first, re))
      tests.push_back(t);

  std::map<std::string, std::string> expected;
  std::vector<std::string> expectationLines;
  if (expectationsPath != "none") {
    std::ifstream in(expectationsPath);
    if (!in && !update) {
      std::cerr << "kiln-conformance: cannot read expectations '" << expectationsPath << "'\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      expectationLines.push_back(line);
      if (line.empty() || line[0] == '#')
        continue;
      auto sp = line.find_first_of(" \t");
      std::string name = line.substr(0, sp);
      std::string reason = sp == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", sp));
      expected[name] = reason;
    }
  }

  std::string runner = selfDir() + "/kiln-run";
  std::vector<Result> results(tests.size());
  std::atomic<size_t> nextIndex{0};
  std::mutex printMutex;
  auto worker = [&] {
    for (size_t i; (i = nextIndex++) < tests.size();) {
      results[i] = runOne(runner, tests[i].first, tests[i].second, timeoutSec, dynamic);
      std::lock_guard<std::mutex> lock(printMutex);
      const Result &r = results[i];
      std::cout << r.status << " " << r.name;
      if (!r.reason.empty())
        std::cout << ": " << r.reason;
      if (!r.perShape.empty())
        std::cout << " (per-shape: " << r.perShape << ")";
      std::cout << std::endl;
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < jobs; ++j)
    pool.emplace_back(worker);
  for (auto &t : pool)
    t.join();

  int passed = 0, failed = 0, skipped = 0, perShape = 0;
  std::vector<std::string> unexpected, fixed;
  std::vector<double> createTimes;
  // What the expectations file says of a test: nothing for a plain pass.
  auto expectation = [](const Result &r) -> std::string {
    if (r.status != "PASS")
      return r.status + ": " + r.reason;
    return r.perShape.empty() ? "" : "PER-SHAPE: " + r.perShape;
  };
  for (const Result &r : results) {
    if (r.status == "PASS") {
      ++passed;
      if (r.createMs >= 0)
        createTimes.push_back(r.createMs);
      if (!r.perShape.empty()) {
        ++perShape;
        auto it = expected.find(r.name);
        if (it == expected.end() || it->second.rfind("PER-SHAPE", 0) != 0)
          unexpected.push_back(r.name + ": " + expectation(r));
      } else if (expected.count(r.name)) {
        fixed.push_back(r.name);
      }
    } else {
      (r.status == "FAIL" ? failed : skipped)++;
      if (!expected.count(r.name))
        unexpected.push_back(r.name + ": " + r.status + ": " + r.reason);
    }
  }
  std::sort(createTimes.begin(), createTimes.end());

  if (!jsonPath.empty()) {
    std::ofstream js(jsonPath);
    js << "{\"passed\": " << passed << ", \"failed\": " << failed << ", \"skipped\": " << skipped
       << ", \"median_session_create_ms\": "
       << (createTimes.empty() ? 0 : createTimes[createTimes.size() / 2]) << ", \"tests\": [\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result &r = results[i];
      js << "  {\"name\": \"" << jsonEscape(r.name) << "\", \"status\": \"" << r.status
         << "\", \"reason\": \"" << jsonEscape(r.reason) << "\", \"per_shape\": \""
         << jsonEscape(r.perShape) << "\", \"ms\": " << r.ms
         << ", \"session_create_ms\": " << r.createMs << "}" << (i + 1 < results.size() ? "," : "")
         << "\n";
    }
    js << "]}\n";
  }

  if (update) {
    // Keep entries for tests this run did not cover; replace the rest.
    std::map<std::string, std::string> next;
    std::set<std::string> covered;
    for (const Result &r : results)
      covered.insert(r.name);
    for (const auto &kv : expected)
      if (!covered.count(kv.first))
        next[kv.first] = kv.second;
    for (const Result &r : results)
      if (!expectation(r).empty())
        next[r.name] = expectation(r);
    std::ofstream out(expectationsPath);
    out << "# ONNX backend tests Kiln is expected not to pass, with the reason"
        << (dynamic ? "; PER-SHAPE: passes, but not compiled for unknown dims" : "") << ".\n"
        << "# Maintained by: kiln-conformance DIR... --update-expectations\n";
    for (const auto &kv : next)
      out << kv.first << "  " << kv.second << "\n";
    std::cout << "wrote " << next.size() << " expectations to " << expectationsPath << "\n";
  }

  if (!createTimes.empty())
    std::cout << "median session creation over passing tests: "
              << createTimes[createTimes.size() / 2] << " ms\n";
  bool ok = true;
  if (expectationsPath != "none" && !update) {
    for (const auto &u : unexpected)
      std::cout << "UNEXPECTED (not in expectations): " << u << "\n";
    for (const auto &f : fixed)
      std::cout << "UNEXPECTED PASS (remove from expectations): " << f << "\n";
    ok = unexpected.empty() && fixed.empty();
  }
  if (dynamic)
    std::cout << "dynamic dims: " << passed - perShape << " of the " << passed
              << " passing tests compiled once for unknown dims, " << perShape
              << " compiled per shape\n";
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped"
            << std::endl;
  return ok ? 0 : 1;
}
