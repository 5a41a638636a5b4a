// LSTM inference on the CPU: the forward recurrence only, keeping nothing for a backward pass.
//
// KloLstmForward (lstm_kernels.cc) writes every step's gate activations and states for
// the gradient op: four [B, T, *] tensors that inference never reads. KloLstmInfer keeps
// only the running state (h twice, for the step being read and the one being written, and
// c) and writes the outputs: every step's output, or with sequences=false only the last.
// Its gradient, registered in Python (fused.py), reruns KloLstmForward and KloLstmBackward.
//
// Work split (lstm_run.h runs it; lstm_gemm.cc has the products): the units, not the rows,
// unless every thread gets kSplitRows rows and u is not too large (lstm_run.h, kSplitBytes,
// with the figures): then each thread runs all steps of its own rows, and the threads never
// meet. Otherwise (batch 1 to 15, or H > 512) both kernels are
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
// faster at one row, 10 % at 2 and 4, alike from 8. At one row a step reads all of u's
// panels from L2 (1 MB at H = 256): two threads take 5.6 us a step on an AMD EPYC (Zen 4),
// L2's bandwidth (about 32 bytes a cycle per core), not the FMA units, is the limit.
//
// Inputs, attributes and checks as KloLstmForward's; InvalidArgument names a wrong input.

#include <algorithm>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "lstm_run.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/platform/threadpool.h"

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
    auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
    const int64_t Hp = (H + 15) / 16 * 16;
    std::vector<float> bias_p(4 * Hp);
    PackBias(bias.NumElements() > 0 ? bias.flat<float>().data() : nullptr, H, bias_p.data());
    const InferArgs args{x.flat<float>().data(), w.flat<float>().data(),
                         u.flat<float>().data(), nullptr, nullptr, bias_p.data(),
                         h0.flat<float>().data(), c0.flat<float>().data(),
                         mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr,
                         B, T, I, H, zero_out_, reverse_,
                         sequences_ ? ys->flat<float>().data() : nullptr,
                         y_last->flat<float>().data(), h_last->flat<float>().data(),
                         c_last->flat<float>().data()};
    Infer(args, std::max(1, pool->NumThreads()), [pool](int64_t n, auto fn) {
      if (n <= 1) return fn(0);
      pool->ParallelFor(n, tsl::thread::ThreadPool::SchedulingParams(
                               tsl::thread::ThreadPool::SchedulingStrategy::kFixedBlockSize,
                               std::nullopt, 1),
                        [&](int64_t i, int64_t) { fn(i); });
    });
  }

 private:
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
