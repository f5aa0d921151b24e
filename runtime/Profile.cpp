//===- Profile.cpp - timed events of a session, as a Chrome trace --------===//
#include "runtime/Profile.h"
#include <atomic>
#include <cstdio>

namespace kiln::profile {
namespace {
thread_local Recorder *active = nullptr;

std::string jsonString(const std::string &s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += char(c);
    }
  }
  return o + "\"";
}
} // namespace

double Recorder::nowUs() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - origin)
      .count();
}

void Recorder::add(Event e) {
  std::lock_guard<std::mutex> lock(mutex);
  events.push_back(std::move(e));
}

std::string Recorder::chromeTrace() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::string out = "{\"traceEvents\": [\n";
  char buf[128];
  for (size_t i = 0; i < events.size(); ++i) {
    const Event &e = events[i];
    std::snprintf(buf, sizeof buf, ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": 1, \"tid\": %d}",
                  e.startUs, e.durationUs, e.thread);
    out += "  {\"name\": " + jsonString(e.name) + ", \"cat\": " + jsonString(e.category) + buf +
           (i + 1 < events.size() ? ",\n" : "\n");
  }
  return out + "], \"displayTimeUnit\": \"ms\"}\n";
}

Recorder *current() { return active; }

Scope::Scope(Recorder *r) : previous(active) { active = r; }
Scope::~Scope() { active = previous; }

int threadIndex() {
  static std::atomic<int> next{0};
  thread_local int index = next++;
  return index;
}

} // namespace kiln::profile
