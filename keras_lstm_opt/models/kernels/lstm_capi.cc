// Plain C entry points to the LSTM inference recurrence, for `klo.Predictor` through ctypes.
//
// A TensorFlow op call costs tens of microseconds before its kernel runs (eager dispatch,
// tensor wrapping), and the op packs both kernels into panels on every call: at batch 1
// on a small LSTM that is most of the time. Here a plan packs a layer's kernels once
// (klo_plan_new), and a call (klo_plan_run) takes NumPy's own buffers: x in, the outputs
// written into arrays the caller allocated; nothing is copied on the way.
//
// Threads: a pool that lives as long as the process (created at the first call that asks
// for more than one thread, grown when a call asks for more). Between calls its threads
// spin for kSpinMicros (a server's next request often comes that soon), then sleep on a
// condition variable: an idle server costs no CPU. One call uses the pool at a time;
// a call that finds it busy (another Python thread's call) runs on its own thread. After
// fork() the child makes a pool of its own.
//
// The recurrence, its work split and its numbers are lstm_run.h's, as the TensorFlow op's.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "lstm_run.h"

namespace klo {
namespace {

constexpr int64_t kSpinMicros = 200;

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // fn(i) for i < n: fn(0) on the calling thread, the others on the pool's threads.
  void Run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 1) return fn(0);
    std::unique_lock<std::mutex> busy(run_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another call has the pool: this one runs on its own thread
      for (int64_t i = 0; i < n; ++i) fn(i);  // (a step's chunks: the first does them all)
      return;
    }
    while (static_cast<int64_t>(threads_.size()) < n - 1) {
      const int64_t id = static_cast<int64_t>(threads_.size()) + 1;
      threads_.emplace_back([this, id] { Work(id); });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      active_ = n;
      pending_.store(n - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    fn(0);
    while (pending_.load(std::memory_order_acquire) > 0) KLO_PAUSE();
  }

 private:
  void Work(int64_t id) {
    uint64_t seen = 0;
    for (;;) {
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
      int64_t spins = 0;
      while (generation_.load(std::memory_order_acquire) == seen) {
        if (++spins % 64 == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mu_);
          wake_.wait(lock, [&] { return generation_.load() != seen; });
          break;
        }
        KLO_PAUSE();
      }
      const std::function<void(int64_t)>* job;
      int64_t active;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        seen = generation_.load();
        job = job_;
        active = active_;
      }
      if (id < active) {
        (*job)(id);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::mutex run_, mu_;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> pending_{0};
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t active_ = 0;
  bool stop_ = false;
};

Pool& ThePool() {
  static pid_t owner = getpid();
  static Pool* pool = new Pool();  // never destroyed: its threads may outlive static teardown
  if (getpid() != owner) {         // a forked child: the parent's threads are not here
    owner = getpid();
    pool = new Pool();  // the parent's pool object is left as it is (its threads are gone)
  }
  return *pool;
}

// A layer's kernels, packed once: float32 panels, or (int8) quantised ones.
struct Plan {
  int64_t I, H;
  std::vector<float> wp, up, bias_p;
  QuantPanels qw, qu;
  bool int8 = false;
};

}  // namespace
}  // namespace klo

extern "C" {

// w [I, 4H], u [H, 4H] (Keras's kernel and recurrent_kernel), bias [4H] or null.
void* klo_plan_new(const float* w, const float* u, const float* bias, int64_t I, int64_t H) {
  auto* p = new klo::Plan{I, H, {}, {}, {}};
  const int64_t Hp = (H + 15) / 16 * 16, G = 4 * Hp;
  p->wp.resize(std::max<int64_t>(1, I * G));
  p->up.resize(std::max<int64_t>(1, H * G));
  p->bias_p.resize(G);
  klo::PackGates(w, I, H, 0, 4 * (Hp / 16), p->wp.data());
  klo::PackGates(u, H, H, 0, 4 * (Hp / 16), p->up.data());
  klo::PackBias(bias, H, p->bias_p.data());
  return p;
}

// As klo_plan_new, the kernels quantised to int8 per column (lstm_int8.cc).
void* klo_plan_new_int8(const float* w, const float* u, const float* bias, int64_t I, int64_t H) {
  auto* p = new klo::Plan{I, H, {}, {}, {}};
  p->int8 = true;
  p->bias_p.resize(4 * ((H + 15) / 16 * 16));
  klo::PackBias(bias, H, p->bias_p.data());
  klo::QuantizeGates(w, I, H, &p->qw);
  klo::QuantizeGates(u, H, H, &p->qu);
  return p;
}

// 1 where the int8 products use AVX-512 VNNI, 0 where a plain loop computes them.
int klo_int8_vnni() { return klo::HasVnni() ? 1 : 0; }

void klo_plan_free(void* plan) { delete static_cast<klo::Plan*>(plan); }

// x [B, T, I] (C order); mask [B, T] (1 = a real step) or null; ys [B, T, H] or null;
// y_last [B, H]. Returns 0.
int klo_plan_run(void* plan, const float* x, int64_t B, int64_t T, const float* mask,
                 int zero_out, int reverse, float* ys, float* y_last, int64_t threads) {
  const auto* p = static_cast<const klo::Plan*>(plan);
  const klo::InferArgs args{x, nullptr, nullptr, p->wp.data(), p->up.data(), p->bias_p.data(),
                            nullptr, nullptr, mask, B, T, p->I, p->H, zero_out != 0,
                            reverse != 0, ys, y_last, nullptr, nullptr,
                            p->int8 ? &p->qw : nullptr, p->int8 ? &p->qu : nullptr};
  klo::Infer(args, std::max<int64_t>(1, threads), [](int64_t n, auto fn) {
    if (n <= 1) return fn(0);
    klo::ThePool().Run(n, fn);
  });
  return 0;
}

}  // extern "C"
