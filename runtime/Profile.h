//===- Profile.h - timed events of a session, as a Chrome trace -*- C++ -*-===//
#ifndef KILN_RUNTIME_PROFILE_H
#define KILN_RUNTIME_PROFILE_H

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::profile {

struct Event {
  std::string name;     // for kernels: the ONNX nodes they compute ("conv1+relu1")
  std::string category; // "session", "run", "kernel"
  double startUs, durationUs;
  int thread;
};

/// Collects events from any thread, timed from its creation.
class Recorder {
public:
  Recorder() : origin(std::chrono::steady_clock::now()) {}
  double nowUs() const;
  void add(Event e);
  /// The events in the Chrome trace format (chrome://tracing, Perfetto).
  std::string chromeTrace() const;

private:
  std::chrono::steady_clock::time_point origin;
  mutable std::mutex mutex;
  std::vector<Event> events;
};

/// The recorder of the run this thread is in; null when not profiling.
Recorder *current();

/// Sets current() on this thread for its lifetime.
class Scope {
public:
  explicit Scope(Recorder *r);
  ~Scope();

private:
  Recorder *previous;
};

/// A small number naming the calling thread in traces.
int threadIndex();

} // namespace kiln::profile
#endif
