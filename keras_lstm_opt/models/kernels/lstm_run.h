// The LSTM inference recurrence, shared by the TensorFlow op (lstm_infer.cc) and the plain C
// entry points (lstm_capi.cc): the gate arithmetic, the step-by-step claiming of work by
// threads, and one run over time on packed kernels. No TensorFlow headers (Eigen only).
// How the work is split and why: lstm_infer.cc's header comment.

#ifndef KLO_LSTM_RUN_H_
#define KLO_LSTM_RUN_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "Eigen/Core"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define KLO_PAUSE() _mm_pause()
#else
#define KLO_PAUSE() ((void)0)
#endif

namespace klo {

// lstm_gemm.cc
std::vector<int64_t> FirstUnmasked(const float* m, int64_t B, int64_t T, bool reverse);
struct Operand {
  const float* a;
  int64_t lda;
  const float* panels;
  int64_t k;
};
void PackGates(const float* src, int64_t K, int64_t H, int64_t p0, int64_t p1, float* dst);
void UnitBlock(int64_t rows, int64_t ub, const float* init, int64_t ldi, const Operand& x,
               const Operand& h, float* out, int64_t ldo);

// lstm_int8.cc: a kernel [K, 4H] quantised to int8 per column, in panels of 16 columns
// (unit-block order), four rows a group: panel p at q.data() + p * K4 * 64.
struct QuantPanels {
  int64_t K = 0, K4 = 0;        // rows, and groups of four rows (the last padded with zeros)
  std::vector<int8_t> q;
  std::vector<int32_t> colsum;  // per column, panel order: 128 * the sum of its int8 values
  std::vector<float> scale;     // per column, panel order: max |w| / 127 (1 if all zero)
};
void QuantizeGates(const float* src, int64_t K, int64_t H, QuantPanels* out);
void QuantizeRows(const float* x, int64_t rows, int64_t K, int64_t ld, int64_t K4, uint8_t* out,
                  float* scale);
void QuantizeH(const float* h, int64_t n, uint8_t* out);
void QUnitBlock(int64_t rows, int64_t ub, const float* init, int64_t ldi, const uint8_t* a,
                int64_t lda, const float* a_scale, int64_t lds, const QuantPanels& p, float* out,
                int64_t ldo);
bool HasVnni();

constexpr int64_t kProjectRows = 8;     // at most this many rows: x w of all steps first
constexpr int64_t kChunkBlocks = 4;     // then unit blocks per chunk at least (H < 128: 1 chunk)
constexpr int64_t kChunksPerThread = 4;  // more rows: chunks per thread
// Rows split between threads instead (each thread all steps of its rows, no meeting per step)
// when every thread has this many rows at least and u's panels take at most kSplitBytes:
// each thread then reads all of the kernels at every step, from its own L2 when they fit,
// else from L3, once per 6 rows (the product's row block). Measured on an AMD EPYC (Zen 4,
// 1 MB L2 a core), 2 threads, B = 64: the small model 0.92 against 2.4 ms; the default
// (2 layers, H = 256: u 1 MB) 58 to 59 against 60 to 62 ms, and steadier (p99 65 to 78
// against 89 to 94 ms): no thread waits for the other at every step.
constexpr int64_t kSplitRows = 8;
constexpr int64_t kSplitBytes = 4096 * 1024;  // H up to 512

using A16 = Eigen::Array<float, 16, 1>;
using Map16 = Eigen::Map<A16>;
using CMap16 = Eigen::Map<const A16>;

// The logistic function as 1/2 + tanh(x/2)/2: Eigen's tanh is one rational function (one
// division), its logistic an exponential and a division. Both are within 2e-7 of the exact
// value (1.55e-7 and 1.4e-7 at most, float32, x in [-40, 40]).
inline A16 Sigmoid(const CMap16& x) { return 0.5f + 0.5f * (0.5f * x).tanh(); }

// One row, one unit block: gates from z (i, f, c, o, 16 each), new c in place, new h into
// h_out, the output into y and y_last (either may be null; w valid units). A masked step
// (keep) keeps the state and outputs the previous output (h_in), or zeros (zero_out).
inline void GateBlock(const float* z, float* c, const float* h_in, float* h_out, float* y,
                      float* y_last, int64_t w, bool keep, bool zero_out) {
  const float* src;
  A16 h;
  if (keep) {
    std::memcpy(h_out, h_in, sizeof(float) * 16);
    src = h_in;
  } else {
    const A16 i = Sigmoid(CMap16(z)), f = Sigmoid(CMap16(z + 16));
    const A16 g = CMap16(z + 32).tanh(), o = Sigmoid(CMap16(z + 48));
    Map16 cm(c);
    cm = f * cm + i * g;
    h = o * cm.tanh();
    Map16 hm(h_out);
    hm = h;
    src = h.data();
  }
  for (float* out : {y, y_last}) {
    if (out == nullptr) continue;
    if (keep && zero_out) std::memset(out, 0, sizeof(float) * w);
    else std::memcpy(out, src, sizeof(float) * w);
  }
}

// Step-by-step claiming of `chunks` pieces of work by however many of `workers` threads
// turn up. Each worker starts at its own share of the chunks (the same each step: its
// part of the kernels stays in its cache) and goes on to any chunk still unclaimed.
// A chunk claimed by a thread that the system then suspends holds up the step; should a
// wait last `patience` (several chunks' worth of work: the CPUs are shared), the waiting
// thread does every remaining step alone and the others leave at their next claim.
class StepClaims {
 public:
  StepClaims(int64_t chunks, int64_t workers, std::chrono::nanoseconds patience)
      : chunks_(chunks), workers_(workers), patience_(patience), claimed_(chunks) {
    for (auto& c : claimed_) c.store(-1, std::memory_order_relaxed);
  }
  // Runs fn(step, chunk) for steps 0..steps-1; each (step, chunk) runs once, on some thread,
  // after every chunk of the step before has finished.
  template <typename Fn>
  void Run(int64_t steps, Fn fn) {
    const int64_t id = next_.fetch_add(1, std::memory_order_relaxed);
    const int64_t me = id % workers_ * chunks_ / workers_;
    for (int64_t s = 0; s < steps; ++s) {
      if (!Wait(s * chunks_, id, s > 1)) return;  // step 0 (packing) may run long
      for (int64_t jj = 0; jj < chunks_; ++jj) {
        const int64_t j = (me + jj) % chunks_;
        int64_t expect = s - 1;
        if (Alone(id)) return;
        if (!claimed_[j].compare_exchange_strong(expect, s, std::memory_order_acq_rel)) continue;
        fn(s, j);
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

 private:
  // Another thread goes on alone.
  bool Alone(int64_t id) const {
    const int64_t solo = solo_.load(std::memory_order_relaxed);
    return solo >= 0 && solo != id;
  }
  // Until `target` chunks are done: true, or false if another thread goes on alone.
  bool Wait(int64_t target, int64_t id, bool may_go_alone) {
    std::chrono::steady_clock::time_point start;
    for (int64_t spins = 0; done_.load(std::memory_order_acquire) < target; ++spins) {
      if (Alone(id)) return false;
      if (spins < 1000) {
        KLO_PAUSE();
        continue;
      }
      if (spins == 1000) start = std::chrono::steady_clock::now();
      if (may_go_alone && spins % 16 == 0 &&
          std::chrono::steady_clock::now() - start > patience_) {
        int64_t none = -1;
        solo_.compare_exchange_strong(none, id, std::memory_order_relaxed);
        if (Alone(id)) return false;
      }
      std::this_thread::yield();
    }
    return true;
  }
  const int64_t chunks_, workers_;
  const std::chrono::nanoseconds patience_;
  std::vector<std::atomic<int64_t>> claimed_;
  std::atomic<int64_t> next_{0}, done_{0}, solo_{-1};
};

struct InferRun {
  const float *x, *w, *u, *mask;  // w, u: null when wp, up hold them packed
  const int64_t* first;  // per row: masked steps before this position output zeros
  float *wp, *up, *xp;
  const float* bias_p;
  float *h, *c, *z, *ys, *y_last;
  int64_t B, T, I, H, Hp, NB, G;
  bool zero_out, reverse;
  // int8 (qw and qu, or neither): x quantised per row (B T rows of 4 qw->K4 bytes, their
  // scales), h quantised with the scale 1/127 (twice, as h: 2 B Hp bytes; hs: B x 1/127)
  const QuantPanels *qw = nullptr, *qu = nullptr;
  uint8_t* xq = nullptr;
  float* xs = nullptr;
  uint8_t* hq = nullptr;
  const float* hs = nullptr;

  // int8: rows [r0, r1) of x (every step of every sequence) quantised.
  void QuantizeX(int64_t r0, int64_t r1) const {
    QuantizeRows(x + r0 * I, r1 - r0, I, I, qw->K4, xq + r0 * 4 * qw->K4, xs + r0);
  }

  // Before the loop: the kernels' panels of unit blocks [ub0, ub1) (unless packed already:
  // w and u null), and with `project` x w + b of every step for them.
  void Prepare(int64_t ub0, int64_t ub1, bool project) const {
    if (w != nullptr) PackGates(w, I, H, 4 * ub0, 4 * ub1, wp);
    if (u != nullptr) PackGates(u, H, H, 4 * ub0, 4 * ub1, up);
    for (int64_t ub = ub0; qw != nullptr && project && ub < ub1; ++ub) {
      QUnitBlock(B * T, ub, bias_p + 64 * ub, 0, xq, 4 * qw->K4, xs, 1, *qw, xp + 64 * ub, G);
    }
    for (int64_t ub = ub0; qw == nullptr && project && ub < ub1; ++ub) {
      UnitBlock(B * T, ub, bias_p + 64 * ub, 0, {x, I, wp, I}, {nullptr, 0, nullptr, 0},
                xp + 64 * ub, G);
    }
  }
  // Step k for unit blocks [ub0, ub1) (chunk j) of every row: x_t w + b (or its projection
  // from xp) + h u, then the gates. Odd steps walk the blocks backwards: the panels read
  // last are read first again, still in L2.
  void Step(int64_t k, int64_t j, int64_t ub0, int64_t ub1, bool projected) const {
    const int64_t t = reverse ? T - 1 - k : k;
    const float* h_in = h + (k % 2) * B * Hp;
    float* h_out = h + ((k + 1) % 2) * B * Hp;
    float* zc = z + j * B * 64;
    const Operand none{nullptr, 0, nullptr, 0}, xo{x + t * I, T * I, wp, I};
    const Operand ho{h_in, Hp, up, H};
    for (int64_t i = 0; i < ub1 - ub0; ++i) {
      const int64_t ub = k % 2 ? ub1 - 1 - i : ub0 + i;
      if (qu != nullptr) {
        const uint8_t* hq_in = hq + (k % 2) * B * Hp;
        const int64_t ldx = 4 * qw->K4;
        if (projected) {
          QUnitBlock(B, ub, xp + t * G + 64 * ub, T * G, hq_in, Hp, hs, 1, *qu, zc, 64);
        } else {  // x_t w + b, then h u added onto it in place
          QUnitBlock(B, ub, bias_p + 64 * ub, 0, xq + t * ldx, T * ldx, xs + t, T, *qw, zc, 64);
          QUnitBlock(B, ub, zc, 64, hq_in, Hp, hs, 1, *qu, zc, 64);
        }
      } else if (projected) {
        UnitBlock(B, ub, xp + t * G + 64 * ub, T * G, none, ho, zc, 64);
      } else {
        UnitBlock(B, ub, bias_p + 64 * ub, 0, xo, ho, zc, 64);
      }
      for (int64_t b = 0; b < B; ++b) Gates(b, k, t, ub, ub + 1, zc + b * 64, h_in, h_out);
    }
  }
  // Gate arithmetic for row b, unit blocks [ub0, ub1); z: 64 values per block from ub0's.
  void Gates(int64_t b, int64_t k, int64_t t, int64_t ub0, int64_t ub1, const float* z,
             const float* h_in, float* h_out) const {
    const bool keep = mask != nullptr && mask[b * T + t] == 0.f;
    for (int64_t ub = ub0; ub < ub1; ++ub) {
      const int64_t o = b * Hp + 16 * ub, oy = 16 * ub;
      GateBlock(z + 64 * (ub - ub0), c + o, h_in + o, h_out + o,
                ys ? ys + (b * T + k) * H + oy : nullptr,
                k == T - 1 ? y_last + b * H + oy : nullptr, std::min<int64_t>(16, H - oy), keep,
                zero_out || k < first[b]);
      if (hq != nullptr) QuantizeH(h_out + o, 16, hq + ((k + 1) % 2) * B * Hp + o);
    }
  }
};

// The bias in panel order: G = 4 Hp values, zeros past H (bias may be null: zeros).
inline void PackBias(const float* bias, int64_t H, float* out) {
  const int64_t NB = (H + 15) / 16;
  std::memset(out, 0, sizeof(float) * 64 * NB);
  for (int64_t p = 0; bias != nullptr && p < 4 * NB; ++p) {
    const int64_t u0 = (p / 4) * 16, n = std::min<int64_t>(16, H - u0);
    std::memcpy(out + 16 * p, bias + (p % 4) * H + u0, sizeof(float) * n);
  }
}

// How many chunks a step is cut into (see lstm_infer.cc), and whether x w is projected first.
inline int64_t Chunks(int64_t B, int64_t NB, int64_t threads) {
  if (B <= kProjectRows) return std::max<int64_t>(1, std::min(threads, NB / kChunkBlocks));
  return threads == 1 ? 1 : std::min(NB, kChunksPerThread * threads);
}

// One inference run over time, shapes checked by the caller. The kernels come packed (wp,
// up: I G and H G floats; w, u null) or are packed here from w and u; bias_p: G floats in
// panel order (PackBias). h0, c0 null: zeros; ys (every step), h_last, c_last may be null;
// y_last may not.
struct InferArgs {
  const float *x, *w, *u, *wp, *up, *bias_p, *h0, *c0, *mask;
  int64_t B, T, I, H;
  bool zero_out, reverse;
  float *ys, *y_last, *h_last, *c_last;
  const QuantPanels *qw = nullptr, *qu = nullptr;  // int8 kernels: wp, up, w, u unused
};

// parallel(n, fn) runs fn(i) for i < n, each on its own thread, and returns when all have.
template <typename Parallel>
void Infer(const InferArgs& a, int64_t threads, Parallel parallel);

// One thread: Infer's `parallel` for a single worker.
struct Serial {
  template <typename Fn>
  void operator()(int64_t, Fn fn) const { fn(0); }
};

// Uninitialised float scratch (a std::vector would zero it first: 400 KB a call at batch 1).
inline std::unique_ptr<float[]> Scratch(int64_t n) {
  return std::unique_ptr<float[]>(new float[std::max<int64_t>(1, n)]);
}

// Rows [r0, r1) of a call, as a call of their own (the kernels packed already).
inline InferArgs RowsOf(const InferArgs& a, int64_t r0, int64_t r1) {
  InferArgs s = a;
  const int64_t T = a.T, H = a.H;
  s.B = r1 - r0;
  s.x = a.x + r0 * T * a.I;
  s.mask = a.mask ? a.mask + r0 * T : nullptr;
  s.h0 = a.h0 ? a.h0 + r0 * H : nullptr;
  s.c0 = a.c0 ? a.c0 + r0 * H : nullptr;
  s.ys = a.ys ? a.ys + r0 * T * H : nullptr;
  s.y_last = a.y_last + r0 * H;
  s.h_last = a.h_last ? a.h_last + r0 * H : nullptr;
  s.c_last = a.c_last ? a.c_last + r0 * H : nullptr;
  return s;
}

template <typename Parallel>
void Infer(const InferArgs& a, int64_t threads, Parallel parallel) {
  const int64_t B = a.B, T = a.T, I = a.I, H = a.H;
  std::memset(a.y_last, 0, sizeof(float) * B * H);
  if (B == 0 || T == 0 || H == 0) {
    for (auto [dst, src] : {std::pair{a.h_last, a.h0}, std::pair{a.c_last, a.c0}}) {
      if (dst == nullptr) continue;
      if (src) std::memcpy(dst, src, sizeof(float) * B * H);
      else std::memset(dst, 0, sizeof(float) * B * H);
    }
    return;
  }
  // Padded to whole unit blocks of 16; G values per row in panel order (see lstm_gemm.cc).
  const int64_t Hp = (H + 15) / 16 * 16, NB = Hp / 16, G = 4 * Hp;
  const int64_t split = std::min(threads, B / kSplitRows);
  if (split > 1 && H * G * int64_t{sizeof(float)} <= kSplitBytes) {
    InferArgs p = a;
    std::unique_ptr<float[]> packed;
    if (a.wp == nullptr && a.qu == nullptr) {  // pack once, for every thread
      packed = Scratch((I + H) * G);
      PackGates(a.w, I, H, 0, 4 * NB, packed.get());
      PackGates(a.u, H, H, 0, 4 * NB, packed.get() + I * G);
      p.wp = packed.get();
      p.up = packed.get() + I * G;
    }
    parallel(split, [&](int64_t i) {
      Infer(RowsOf(p, i * B / split, (i + 1) * B / split), 1, Serial{});
    });
    return;
  }
  const bool projected = B <= kProjectRows, int8 = a.qu != nullptr;
  const int64_t chunks = Chunks(B, NB, threads);
  std::vector<float> state(3 * B * Hp, 0.f);  // h, h (next), c
  auto z = Scratch(chunks * B * 64);          // gate values of a unit block, per chunk
  auto packed = Scratch(a.wp != nullptr || int8 ? 0 : (I + H) * G);
  auto xp = Scratch(projected ? B * T * G : 0);
  float* c = state.data() + 2 * B * Hp;
  for (int64_t b = 0; b < B; ++b) {
    if (a.h0) std::memcpy(state.data() + b * Hp, a.h0 + b * H, sizeof(float) * H);
    if (a.c0) std::memcpy(c + b * Hp, a.c0 + b * H, sizeof(float) * H);
  }
  float* wp = a.wp != nullptr ? const_cast<float*>(a.wp) : packed.get();
  float* up = a.up != nullptr ? const_cast<float*>(a.up) : packed.get() + I * G;
  const std::vector<int64_t> first = FirstUnmasked(a.mask, B, T, a.reverse);
  InferRun run{a.x, a.wp != nullptr || int8 ? nullptr : a.w, a.up != nullptr || int8 ? nullptr : a.u,
               a.mask, first.data(), wp, up, xp.get(), a.bias_p, state.data(), c, z.get(), a.ys,
               a.y_last, B, T, I, H, Hp, NB, G, a.zero_out, a.reverse};
  std::unique_ptr<uint8_t[]> xq, hq;
  std::vector<float> xs, hs;
  if (int8) {
    xq.reset(new uint8_t[B * T * 4 * a.qw->K4]);
    hq.reset(new uint8_t[2 * B * Hp]);
    xs.resize(B * T);
    hs.assign(B, 1.f / 127.f);
    QuantizeH(state.data(), B * Hp, hq.get());
    run.qw = a.qw;
    run.qu = a.qu;
    run.xq = xq.get();
    run.xs = xs.data();
    run.hq = hq.get();
    run.hs = hs.data();
  }
  const int64_t workers = std::min(threads, chunks), pre = int8 ? 2 : 1;
  // Patience: 100 us, or four chunks' worth of work at 25 GFLOP/s if longer.
  const int64_t chunk_flops = 2 * B * (I + H) * G / chunks;
  StepClaims claims(chunks, workers,
                    std::chrono::nanoseconds(std::max<int64_t>(100000, 4 * chunk_flops / 25)));
  parallel(workers, [&](int64_t) {
    // int8: step 0 quantises x, a share of the rows per chunk; then, as for float32,
    // packing (and projecting), then the steps over time
    claims.Run(T + pre, [&](int64_t s, int64_t j) {
      const int64_t ub0 = j * NB / chunks, ub1 = (j + 1) * NB / chunks;
      if (s < pre - 1) run.QuantizeX(j * B * T / chunks, (j + 1) * B * T / chunks);
      else if (s == pre - 1) run.Prepare(ub0, ub1, projected);
      else run.Step(s - pre, j, ub0, ub1, projected);
    });
  });
  const float* hl = state.data() + (T % 2) * B * Hp;
  for (int64_t b = 0; b < B; ++b) {
    if (a.h_last) std::memcpy(a.h_last + b * H, hl + b * Hp, sizeof(float) * H);
    if (a.c_last) std::memcpy(a.c_last + b * H, c + b * Hp, sizeof(float) * H);
  }
}

}  // namespace klo

#endif  // KLO_LSTM_RUN_H_
