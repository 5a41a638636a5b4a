// LSTM inference on the CPU: the forward recurrence only, keeping nothing for a backward pass.
//
// KloLstmForward (lstm_kernels.cc) writes every step's gate activations and states for
// the gradient op: four [B, T, *] tensors that inference never reads. KloLstmInfer keeps
// only the running state (h twice, for the step being read and the one being written, and
// c) and writes the outputs: every step's output, or with sequences=false only the last.
// Its gradient, registered in Python (fused.py), reruns KloLstmForward and KloLstmBackward.
//
// Work split (lstm_gemm.cc has the products): the units, never the rows. Both kernels are
// packed into panels (before step 0, each chunk its own) and each step is cut into chunks
// of unit blocks (16 units, their four gates), each for every row; per unit block one
// register-blocked product gives the 64 gate values of every row, and the gate arithmetic
// follows while they are in L1. Threads meet once per step: a step's chunks are claimed
// through atomics by whichever threads are running, each starting at its own share (the
// same every step, so its panels stay in its cache) and going on to any chunk left: a
// thread that starts late, or that the system slows down, holds up one chunk at most,
// where a fixed split of the rows waits for its slowest thread. Odd steps walk the unit
// blocks backwards, so the panels read last are read first again while still in L2.
// * Up to kProjectRows rows (batch 1 latency): x w + b of every step is one product before
//   the loop, and a step reads only u's panels (one chunk per thread, as long as a chunk
//   keeps kChunkBlocks unit blocks: a smaller step waits more than it works).
// * More rows (batch throughput): x_t w + h u + b in one product per step, no [B, T, 4H]
//   buffer; kChunksPerThread chunks per thread.
// Measured on one thread (B = 1 .. 16, T = 100, I = 128, H = 256): projecting first is 25 %
// faster at one row, 10 % at 2 and 4, alike from 8.
//
// Inputs, attributes and checks as KloLstmForward's; InvalidArgument names a wrong input.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <thread>
#include <vector>

#include "Eigen/Core"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/platform/threadpool.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define KLO_PAUSE() _mm_pause()
#else
#define KLO_PAUSE() ((void)0)
#endif

namespace klo {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// lstm_kernels.cc: the shape checks shared with the training ops.
absl::Status Expect(const char* op, const char* name, const char* form, const Tensor& t,
                    std::initializer_list<int64_t> want);
absl::Status CheckXU(const char* op, const Tensor& x, const Tensor& u);
absl::Status Optional(const char* op, const char* name, const char* form, const Tensor& t,
                      std::initializer_list<int64_t> want);
absl::Status Out(OpKernelContext* ctx, int i, std::initializer_list<int64_t> dims, Tensor** t);
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

constexpr int64_t kProjectRows = 8;     // at most this many rows: x w of all steps first
constexpr int64_t kChunkBlocks = 4;     // then unit blocks per chunk at least (H < 128: 1 chunk)
constexpr int64_t kChunksPerThread = 4;  // more rows: chunks per thread

using A16 = Eigen::Array<float, 16, 1>;
using Map16 = Eigen::Map<A16>;
using CMap16 = Eigen::Map<const A16>;

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
    const A16 i = CMap16(z).logistic(), f = CMap16(z + 16).logistic();
    const A16 g = CMap16(z + 32).tanh(), o = CMap16(z + 48).logistic();
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

class LstmInferOp : public OpKernel {
 public:
  explicit LstmInferOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("zero_output_for_mask", &zero_out_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("reverse", &reverse_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("sequences", &sequences_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor &x = ctx->input(0), &w = ctx->input(1), &bias = ctx->input(2);
    const Tensor &u = ctx->input(3), &h0 = ctx->input(4), &c0 = ctx->input(5);
    const Tensor& mask = ctx->input(6);
    const char* op = "KloLstmInfer";
    OP_REQUIRES_OK(ctx, CheckXU(op, x, u));
    const int64_t B = x.dim_size(0), T = x.dim_size(1), I = x.dim_size(2), H = u.dim_size(0);
    OP_REQUIRES_OK(ctx, Expect(op, "w", "[I, 4H]", w, {I, 4 * H}));
    OP_REQUIRES_OK(ctx, Optional(op, "bias", "[4H] or empty", bias, {4 * H}));
    OP_REQUIRES_OK(ctx, Expect(op, "h0", "[B, H]", h0, {B, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "c0", "[B, H]", c0, {B, H}));
    OP_REQUIRES_OK(ctx, Optional(op, "mask", "[B, T] or empty", mask, {B, T}));
    Tensor *ys, *y_last, *h_last, *c_last;
    OP_REQUIRES_OK(ctx, Out(ctx, 0, {B, sequences_ ? T : 0, H}, &ys));
    OP_REQUIRES_OK(ctx, Out(ctx, 1, {B, H}, &y_last));
    OP_REQUIRES_OK(ctx, Out(ctx, 2, {B, H}, &h_last));
    OP_REQUIRES_OK(ctx, Out(ctx, 3, {B, H}, &c_last));
    std::memcpy(h_last->flat<float>().data(), h0.flat<float>().data(), sizeof(float) * B * H);
    std::memcpy(c_last->flat<float>().data(), c0.flat<float>().data(), sizeof(float) * B * H);
    std::memset(y_last->flat<float>().data(), 0, sizeof(float) * B * H);
    if (B == 0 || T == 0 || H == 0) return;

    // Padded to whole unit blocks of 16; G values per row in panel order (see lstm_gemm.cc).
    const int64_t Hp = (H + 15) / 16 * 16, NB = Hp / 16, G = 4 * Hp;
    auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
    const int64_t threads = std::max(1, pool->NumThreads());
    // A chunk: some unit blocks, for every row. Few rows: kChunkBlocks unit blocks per
    // chunk at least (smaller ones wait more than they work). More: kChunksPerThread per
    // thread, so that a thread the system slows down holds up one small chunk at most.
    const bool projected = B <= kProjectRows;
    const int64_t chunks = projected
                               ? std::max<int64_t>(1, std::min(threads, NB / kChunkBlocks))
                               : threads == 1 ? 1 : std::min(NB, kChunksPerThread * threads);
    std::vector<float> state(3 * B * Hp, 0.f), bias_p(G, 0.f);  // h, h (next), c
    std::vector<float> z(chunks * B * 64);  // gate values of a unit block, per chunk
    float* c = state.data() + 2 * B * Hp;
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(state.data() + b * Hp, h0.flat<float>().data() + b * H, sizeof(float) * H);
      std::memcpy(c + b * Hp, c0.flat<float>().data() + b * H, sizeof(float) * H);
    }
    if (bias.NumElements() > 0) {
      const float* bp = bias.flat<float>().data();
      for (int64_t p = 0; p < 4 * NB; ++p) {
        const int64_t u0 = (p / 4) * 16, n = std::min<int64_t>(16, H - u0);
        std::memcpy(bias_p.data() + 16 * p, bp + (p % 4) * H + u0, sizeof(float) * n);
      }
    }
    Tensor wp_t, up_t, xp_t;
    OP_REQUIRES_OK(ctx, Temp(ctx, I * G, &wp_t));
    OP_REQUIRES_OK(ctx, Temp(ctx, H * G, &up_t));
    OP_REQUIRES_OK(ctx, Temp(ctx, projected ? B * T * G : 1, &xp_t));
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const std::vector<int64_t> first = FirstUnmasked(m_p, B, T, reverse_);
    Run run{x.flat<float>().data(), w.flat<float>().data(), u.flat<float>().data(), m_p,
            first.data(), wp_t.flat<float>().data(), up_t.flat<float>().data(),
            xp_t.flat<float>().data(), bias_p.data(), state.data(), c, z.data(),
            sequences_ ? ys->flat<float>().data() : nullptr, y_last->flat<float>().data(),
            B, T, I, H, Hp, NB, G, zero_out_, reverse_};
    const int64_t workers = std::min(threads, chunks);
    // Patience: 100 us, or four chunks' worth of work at 25 GFLOP/s if longer.
    const int64_t chunk_flops = 2 * B * (I + H) * G / chunks;
    StepClaims claims(chunks, workers,
                      std::chrono::nanoseconds(std::max<int64_t>(100000, 4 * chunk_flops / 25)));
    Parallel(pool, workers, [&](int64_t, int64_t) {
      claims.Run(T + 1, [&](int64_t s, int64_t j) {  // step 0: packing (and projecting)
        const int64_t ub0 = j * NB / chunks, ub1 = (j + 1) * NB / chunks;
        if (s == 0) run.Prepare(ub0, ub1, projected); else run.Step(s - 1, j, ub0, ub1, projected);
      });
    });
    float* hl = state.data() + (T % 2) * B * Hp;
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(h_last->flat<float>().data() + b * H, hl + b * Hp, sizeof(float) * H);
      std::memcpy(c_last->flat<float>().data() + b * H, c + b * Hp, sizeof(float) * H);
    }
  }

 private:
  struct Run {
    const float *x, *w, *u, *mask;
    const int64_t* first;  // per row: masked steps before this position output zeros
    float *wp, *up, *xp;
    const float* bias_p;
    float *h, *c, *z, *ys, *y_last;
    int64_t B, T, I, H, Hp, NB, G;
    bool zero_out, reverse;

    // Before the loop: the kernels' panels of unit blocks [ub0, ub1), and with `project`
    // x w + b of every step for them.
    void Prepare(int64_t ub0, int64_t ub1, bool project) const {
      PackGates(w, I, H, 4 * ub0, 4 * ub1, wp);
      PackGates(u, H, H, 4 * ub0, 4 * ub1, up);
      for (int64_t ub = ub0; project && ub < ub1; ++ub) {
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
        if (projected) UnitBlock(B, ub, xp + t * G + 64 * ub, T * G, none, ho, zc, 64);
        else UnitBlock(B, ub, bias_p + 64 * ub, 0, xo, ho, zc, 64);
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
      }
    }
  };

  static absl::Status Temp(OpKernelContext* ctx, int64_t n, Tensor* t) {
    return ctx->allocate_temp(tensorflow::DT_FLOAT, tensorflow::TensorShape({n}), t);
  }
  template <typename Fn>
  static void Parallel(tsl::thread::ThreadPool* pool, int64_t n, Fn fn) {
    if (n <= 1) {
      fn(0, n);
      return;
    }
    pool->ParallelFor(n, tsl::thread::ThreadPool::SchedulingParams(
                             tsl::thread::ThreadPool::SchedulingStrategy::kFixedBlockSize,
                             std::nullopt, 1),
                      fn);
  }

  bool zero_out_, reverse_, sequences_;
};

}  // namespace klo

REGISTER_OP("KloLstmInfer")
    .Input("x: float")
    .Input("w: float")
    .Input("bias: float")
    .Input("u: float")
    .Input("h0: float")
    .Input("c0: float")
    .Input("mask: float")
    .Attr("zero_output_for_mask: bool = false")
    .Attr("reverse: bool = false")
    .Attr("sequences: bool = true")
    .Output("ys: float")
    .Output("y_last: float")
    .Output("h_last: float")
    .Output("c_last: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle s;  // ranks first, as KloLstmForward's
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &s));
      for (int k : {1, 3, 4, 5}) TF_RETURN_IF_ERROR(c->WithRank(c->input(k), 2, &s));
      bool sequences;
      TF_RETURN_IF_ERROR(c->GetAttr("sequences", &sequences));
      auto b = c->Dim(c->input(0), 0), h = c->Dim(c->input(3), 0);
      c->set_output(0, c->MakeShape({b, sequences ? c->Dim(c->input(0), 1) : c->MakeDim(0), h}));
      for (int k = 1; k < 4; ++k) c->set_output(k, c->MakeShape({b, h}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("KloLstmInfer").Device(tensorflow::DEVICE_CPU), klo::LstmInferOp);
