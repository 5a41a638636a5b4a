// Fused LSTM recurrence for the CPU: one op for the forward loop, one for the backward.
//
// Keras's CPU LSTM runs a tf.while_loop whose every time step is some forty small
// TensorFlow ops; at a few microseconds of dispatch each, small and long shapes spend
// most of their time between ops. These two ops run the whole recurrence in C++.
//
// Batch rows are independent in the recurrence, so each op splits the batch into one
// contiguous block of rows per intra-op thread and runs every time step of its block
// with no synchronisation: per step one small single-threaded Eigen GEMM
// (rows x H) x (H x 4H) plus vectorised gate arithmetic. In batch-major layout a
// block's rows over all time steps are contiguous, so its input projection (before the
// loop) and its weight gradients (after it) are one large GEMM each, also per thread;
// the partial weight gradients are summed in block order after the loop. The input
// gradient dz W^T is left to TensorFlow, which prunes it when nothing needs it.
//
// Layouts (batch-major as Keras passes them, row-major, float32): x [B, T, I],
// w [I, 4H], bias [4H] (or empty), gate order i, f, c, o as in keras.layers.LSTM;
// u [H, 4H]; mask [B, T] of 0/1 or an empty tensor for "no mask". With `reverse` the
// sequence is processed from its last step (go_backwards) and outputs come in
// processing order. Masked steps keep the previous state; the output is the previous
// output (zeros before the first unmasked step, whatever h0), or zeros when
// zero_output_for_mask is set (Keras's semantics).
//
// Both ops check every input's shape before reading it (x and u define B, T, I and H)
// and fail with InvalidArgument naming the input, its expected and its actual shape.

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/platform/threadpool.h"

namespace klo {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMat>;
using ConstMatMap = Eigen::Map<const RowMat>;
using Vec = Eigen::Array<float, 1, Eigen::Dynamic>;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;

// Rows per block and number of blocks: one block of batch rows per intra-op thread.
inline std::pair<int64_t, int64_t> RowBlocks(OpKernelContext* ctx, int64_t batch) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(pool->NumThreads(), batch));
  const int64_t block = (batch + threads - 1) / threads;
  return {block, (batch + block - 1) / block};
}

// Runs fn(block_index, row_begin, row_end) over the blocks of RowBlocks, in parallel.
template <typename Fn>
void ForRowBlocks(OpKernelContext* ctx, int64_t batch, Fn fn) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  const auto [block, blocks] = RowBlocks(ctx, batch);
  pool->ParallelFor(blocks, tsl::thread::ThreadPool::SchedulingParams(
                                tsl::thread::ThreadPool::SchedulingStrategy::kFixedBlockSize,
                                std::nullopt, 1),
                    [&](int64_t first, int64_t last) {
                      for (int64_t k = first; k < last; ++k) {
                        fn(k, k * block, std::min(batch, (k + 1) * block));
                      }
                    });
}

// Input checks. `form` is the expected shape in symbols, `want` its value here.
inline std::string Str(absl::Span<const int64_t> d) {
  return absl::StrCat("[", absl::StrJoin(d, ", "), "]");
}
absl::Status Wrong(const char* op, const char* name, const char* form, const Tensor& t,
                   const std::string& want = "") {
  return absl::InvalidArgumentError(absl::StrCat(
      op, ": ", name, " must be ", form, want.empty() ? "" : " = ", want,
      want.empty() ? "" : " (B, T, I from x, H from u)", ", got ", Str(t.shape().dim_sizes())));
}
absl::Status Expect(const char* op, const char* name, const char* form, const Tensor& t,
                    std::initializer_list<int64_t> want) {
  const auto got = t.shape().dim_sizes();
  if (std::equal(got.begin(), got.end(), want.begin(), want.end())) return absl::OkStatus();
  return Wrong(op, name, form, t, Str(want));
}
// x [B, T, I] and u [H, 4H]: the inputs whose shapes define B, T, I and H.
absl::Status CheckXU(const char* op, const Tensor& x, const Tensor& u) {
  if (x.dims() != 3) return Wrong(op, "x", "[B, T, I]", x);
  if (u.dims() != 2 || u.dim_size(1) % 4 != 0 || u.dim_size(1) / 4 != u.dim_size(0)) {
    return Wrong(op, "u", "[H, 4H]", u);
  }
  return absl::OkStatus();
}
// An optional input (bias, mask): empty means "none", anything else must be `want`.
absl::Status Optional(const char* op, const char* name, const char* form, const Tensor& t,
                      std::initializer_list<int64_t> want) {
  return t.NumElements() == 0 ? absl::OkStatus() : Expect(op, name, form, t, want);
}
// allocate_output; a shape whose size overflows is an error, not a crash.
absl::Status Out(OpKernelContext* ctx, int i, std::initializer_list<int64_t> dims, Tensor** t) {
  TensorShape shape;
  TF_RETURN_IF_ERROR(TensorShape::BuildTensorShape(dims, &shape));
  return ctx->allocate_output(i, shape, t);
}

// Row b of a [B, T, W] tensor at time t, and the rows r0.. of time t as a strided matrix.
inline int64_t At(int64_t b, int64_t t, int64_t T) { return b * T + t; }
// Per row, the first processing position whose step is unmasked (lstm_gemm.cc).
std::vector<int64_t> FirstUnmasked(const float* m, int64_t B, int64_t T, bool reverse);
using Strided = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using ConstStrided = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;

class LstmForwardOp : public OpKernel {
 public:
  explicit LstmForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("zero_output_for_mask", &zero_out_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("reverse", &reverse_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& w = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    const Tensor& u = ctx->input(3);
    const Tensor& h0 = ctx->input(4);
    const Tensor& c0 = ctx->input(5);
    const Tensor& mask = ctx->input(6);
    const char* op = "KloLstmForward";
    OP_REQUIRES_OK(ctx, CheckXU(op, x, u));
    const int64_t B = x.dim_size(0), T = x.dim_size(1), I = x.dim_size(2), H = u.dim_size(0);
    OP_REQUIRES_OK(ctx, Expect(op, "w", "[I, 4H]", w, {I, 4 * H}));
    OP_REQUIRES_OK(ctx, Optional(op, "bias", "[4H] or empty", bias, {4 * H}));
    OP_REQUIRES_OK(ctx, Expect(op, "h0", "[B, H]", h0, {B, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "c0", "[B, H]", c0, {B, H}));
    OP_REQUIRES_OK(ctx, Optional(op, "mask", "[B, T] or empty", mask, {B, T}));
    const bool masked = mask.NumElements() > 0;
    Tensor *ys, *h_last, *c_last, *acts, *h_prev, *c_prev, *c_tanh;
    OP_REQUIRES_OK(ctx, Out(ctx, 0, {B, T, H}, &ys));
    OP_REQUIRES_OK(ctx, Out(ctx, 1, {B, H}, &h_last));
    OP_REQUIRES_OK(ctx, Out(ctx, 2, {B, H}, &c_last));
    OP_REQUIRES_OK(ctx, Out(ctx, 3, {B, T, 4 * H}, &acts));
    OP_REQUIRES_OK(ctx, Out(ctx, 4, {B, T, H}, &h_prev));
    OP_REQUIRES_OK(ctx, Out(ctx, 5, {B, T, H}, &c_prev));
    OP_REQUIRES_OK(ctx, Out(ctx, 6, {B, T, H}, &c_tanh));
    const float* x_p = x.flat<float>().data();
    ConstMatMap W(w.flat<float>().data(), I, 4 * H);
    const float* m_p = masked ? mask.flat<float>().data() : nullptr;
    const bool has_bias = bias.NumElements() > 0;
    ConstVecMap b_vec(has_bias ? bias.flat<float>().data() : nullptr, has_bias ? 4 * H : 0);
    ConstMatMap U(u.flat<float>().data(), H, 4 * H);
    float* ys_p = ys->flat<float>().data();
    float* acts_p = acts->flat<float>().data();
    float* hp_p = h_prev->flat<float>().data();
    float* cp_p = c_prev->flat<float>().data();
    float* tc_p = c_tanh->flat<float>().data();
    float* h_p = h_last->flat<float>().data();
    float* c_p = c_last->flat<float>().data();
    std::memcpy(h_p, h0.flat<float>().data(), sizeof(float) * B * H);
    std::memcpy(c_p, c0.flat<float>().data(), sizeof(float) * B * H);
    const bool zero_out = zero_out_, reverse = reverse_;
    const std::vector<int64_t> first = FirstUnmasked(m_p, B, T, reverse);
    if (T == 0 || B == 0) return;

    ForRowBlocks(ctx, B, [&](int64_t, int64_t r0, int64_t r1) {
      const int64_t n = r1 - r0;
      MatMap h(h_p + r0 * H, n, H);  // the running state lives in the outputs
      // The input projection of this block's rows for every time step: one GEMM.
      MatMap xp(acts_p + r0 * T * 4 * H, n * T, 4 * H);
      xp.noalias() = ConstMatMap(x_p + r0 * T * I, n * T, I) * W;
      if (has_bias) xp.rowwise() += b_vec.matrix();
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;  // time position read; k: output position
        Strided z(acts_p + At(r0, t, T) * 4 * H, n, 4 * H, Eigen::OuterStride<>(T * 4 * H));
        z.noalias() += h * U;
        // Gate arithmetic on the whole block at once (vectorised along each row).
        const Eigen::OuterStride<> sh(T * H);
        Strided hp(hp_p + At(r0, t, T) * H, n, H, sh), cp(cp_p + At(r0, t, T) * H, n, H, sh);
        Strided tc(tc_p + At(r0, t, T) * H, n, H, sh), y(ys_p + At(r0, k, T) * H, n, H, sh);
        MatMap c(c_p + r0 * H, n, H);
        hp = h;
        cp = c;
        z.leftCols(2 * H).array() = z.leftCols(2 * H).array().logistic();  // i, f
        z.middleCols(2 * H, H).array() = z.middleCols(2 * H, H).array().tanh();  // g
        z.rightCols(H).array() = z.rightCols(H).array().logistic();  // o
        c.array() = z.middleCols(H, H).array() * c.array() +
                    z.leftCols(H).array() * z.middleCols(2 * H, H).array();
        tc.array() = c.array().tanh();
        h.array() = z.rightCols(H).array() * tc.array();
        y = h;
        if (!masked) continue;
        for (int64_t r = 0; r < n; ++r) {
          if (m_p[At(r0 + r, t, T)] != 0.f) continue;
          // A masked step keeps the state; the backward op never reads its gates.
          h.row(r) = hp.row(r);
          c.row(r) = cp.row(r);
          if (zero_out || k < first[r0 + r]) y.row(r).setZero(); else y.row(r) = h.row(r);
        }
      }
    });
  }

 private:
  bool zero_out_, reverse_;
};

class LstmBackwardOp : public OpKernel {
 public:
  explicit LstmBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("zero_output_for_mask", &zero_out_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("reverse", &reverse_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& u = ctx->input(1);
    const Tensor& acts = ctx->input(2);
    const Tensor& h_prev = ctx->input(3);
    const Tensor& c_prev = ctx->input(4);
    const Tensor& c_tanh = ctx->input(5);
    const Tensor& mask = ctx->input(6);
    const Tensor& dys = ctx->input(7);
    const Tensor& dh_last = ctx->input(8);
    const Tensor& dc_last = ctx->input(9);
    // The same checks as the forward op's, on the forward inputs x and u, the saved
    // forward outputs and the incoming gradients, before anything is read.
    const char* op = "KloLstmBackward";
    OP_REQUIRES_OK(ctx, CheckXU(op, x, u));
    const int64_t B = x.dim_size(0), T = x.dim_size(1), I = x.dim_size(2), H = u.dim_size(0);
    OP_REQUIRES_OK(ctx, Expect(op, "acts", "[B, T, 4H]", acts, {B, T, 4 * H}));
    OP_REQUIRES_OK(ctx, Expect(op, "h_prev", "[B, T, H]", h_prev, {B, T, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "c_prev", "[B, T, H]", c_prev, {B, T, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "c_tanh", "[B, T, H]", c_tanh, {B, T, H}));
    OP_REQUIRES_OK(ctx, Optional(op, "mask", "[B, T] or empty", mask, {B, T}));
    OP_REQUIRES_OK(ctx, Expect(op, "dys", "[B, T, H]", dys, {B, T, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "dh_last", "[B, H]", dh_last, {B, H}));
    OP_REQUIRES_OK(ctx, Expect(op, "dc_last", "[B, H]", dc_last, {B, H}));
    const bool masked = mask.NumElements() > 0;
    Tensor *dz, *dh0, *dc0, *db, *dw, *du;
    OP_REQUIRES_OK(ctx, Out(ctx, 0, {B, T, 4 * H}, &dz));
    OP_REQUIRES_OK(ctx, Out(ctx, 1, {B, H}, &dh0));
    OP_REQUIRES_OK(ctx, Out(ctx, 2, {B, H}, &dc0));
    OP_REQUIRES_OK(ctx, Out(ctx, 3, {4 * H}, &db));
    OP_REQUIRES_OK(ctx, Out(ctx, 4, {I, 4 * H}, &dw));
    OP_REQUIRES_OK(ctx, Out(ctx, 5, {H, 4 * H}, &du));
    MatMap dw_sum(dw->flat<float>().data(), I, 4 * H), du_sum(du->flat<float>().data(), H, 4 * H);
    dw_sum.setZero();
    du_sum.setZero();
    const float* x_p = x.flat<float>().data();
    const float* hp_p = h_prev.flat<float>().data();
    ConstMatMap U(u.flat<float>().data(), H, 4 * H);
    const float* a_p = acts.flat<float>().data();
    const float* cp_p = c_prev.flat<float>().data();
    const float* tc_p = c_tanh.flat<float>().data();
    const float* m_p = masked ? mask.flat<float>().data() : nullptr;
    const float* dy_p = dys.flat<float>().data();
    float* dz_p = dz->flat<float>().data();
    float* dh_p = dh0->flat<float>().data();
    float* dc_p = dc0->flat<float>().data();
    std::memcpy(dh_p, dh_last.flat<float>().data(), sizeof(float) * B * H);
    std::memcpy(dc_p, dc_last.flat<float>().data(), sizeof(float) * B * H);
    VecMap db_sum(db->flat<float>().data(), 4 * H);
    db_sum.setZero();
    const bool zero_out = zero_out_, reverse = reverse_;
    const std::vector<int64_t> first = FirstUnmasked(m_p, B, T, reverse);
    if (T == 0 || B == 0) return;
    // Partial weight gradients per block, summed in block order afterwards: the result
    // does not depend on which thread finishes first (runs are reproducible).
    const int64_t blocks = RowBlocks(ctx, B).second;
    std::vector<Vec> db_parts(blocks);
    std::vector<RowMat> dw_parts(blocks), du_parts(blocks);

    ForRowBlocks(ctx, B, [&](int64_t kb, int64_t r0, int64_t r1) {
      const int64_t n = r1 - r0;
      MatMap dh(dh_p + r0 * H, n, H);
      MatMap dc(dc_p + r0 * H, n, H);
      RowMat dcell(n, H), keep_h(masked ? n : 0, H), keep_c(masked ? n : 0, H);
      std::vector<int64_t> kept;  // masked rows of this step: gradients pass through
      Vec db_part = Vec::Zero(4 * H);
      const Eigen::OuterStride<> s4(T * 4 * H), sh(T * H);
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k;
        ConstStrided a(a_p + At(r0, t, T) * 4 * H, n, 4 * H, s4);
        ConstStrided cp(cp_p + At(r0, t, T) * H, n, H, sh), tc(tc_p + At(r0, t, T) * H, n, H, sh);
        ConstStrided dy(dy_p + At(r0, k, T) * H, n, H, sh);
        Strided dz(dz_p + At(r0, t, T) * 4 * H, n, 4 * H, s4);
        kept.clear();
        if (masked) {
          for (int64_t r = 0; r < n; ++r) {
            if (m_p[At(r0 + r, t, T)] != 0.f) continue;
            // The step kept the previous state: dh and dc pass through untouched, plus
            // the output's gradient when the output was the previous output.
            keep_h.row(kept.size()) = zero_out || k < first[r0 + r] ? RowMat(dh.row(r))
                                                                    : RowMat(dh.row(r) + dy.row(r));
            keep_c.row(kept.size()) = dc.row(r);
            kept.push_back(r);
          }
        }
        const auto i = a.leftCols(H).array(), f = a.middleCols(H, H).array();
        const auto g = a.middleCols(2 * H, H).array(), o = a.rightCols(H).array();
        dh += dy;  // the gradient reaching this step's new h
        dcell.array() = dc.array() + dh.array() * o * (1.f - tc.array().square());
        dz.leftCols(H).array() = dcell.array() * g * i * (1.f - i);
        dz.middleCols(H, H).array() = dcell.array() * cp.array() * f * (1.f - f);
        dz.middleCols(2 * H, H).array() = dcell.array() * i * (1.f - g.square());
        dz.rightCols(H).array() = dh.array() * tc.array() * o * (1.f - o);
        dc.array() = dcell.array() * f;
        for (size_t j = 0; j < kept.size(); ++j) {
          dz.row(kept[j]).setZero();
          dc.row(kept[j]) = keep_c.row(j);
        }
        db_part += dz.colwise().sum().array();
        dh.noalias() = dz * U.transpose();
        for (size_t j = 0; j < kept.size(); ++j) dh.row(kept[j]) = keep_h.row(j);
      }
      // Weight gradients of this block's rows over all time steps: one GEMM each.
      ConstMatMap dz_block(dz_p + r0 * T * 4 * H, n * T, 4 * H);
      dw_parts[kb].noalias() = ConstMatMap(x_p + r0 * T * I, n * T, I).transpose() * dz_block;
      du_parts[kb].noalias() = ConstMatMap(hp_p + r0 * T * H, n * T, H).transpose() * dz_block;
      db_parts[kb] = db_part;
    });
    for (int64_t k = 0; k < blocks; ++k) {
      db_sum += db_parts[k];
      dw_sum += dw_parts[k];
      du_sum += du_parts[k];
    }
  }

 private:
  bool zero_out_, reverse_;
};

}  // namespace klo

REGISTER_OP("KloLstmForward")
    .Input("x: float")
    .Input("w: float")
    .Input("bias: float")
    .Input("u: float")
    .Input("h0: float")
    .Input("c0: float")
    .Input("mask: float")
    .Attr("zero_output_for_mask: bool = false")
    .Attr("reverse: bool = false")
    .Output("ys: float")
    .Output("h_last: float")
    .Output("c_last: float")
    .Output("acts: float")
    .Output("h_prev: float")
    .Output("c_prev: float")
    .Output("c_tanh: float")
    .SetShapeFn([](klo::InferenceContext* c) {
      klo::ShapeHandle s;  // ranks first: Dim() must not index past a shape's rank
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &s));
      for (int k : {1, 3, 4, 5}) TF_RETURN_IF_ERROR(c->WithRank(c->input(k), 2, &s));
      auto b = c->Dim(c->input(0), 0), t = c->Dim(c->input(0), 1);
      auto h = c->Dim(c->input(3), 0), g = c->Dim(c->input(3), 1);
      c->set_output(0, c->MakeShape({b, t, h}));
      c->set_output(1, c->MakeShape({b, h}));
      c->set_output(2, c->MakeShape({b, h}));
      c->set_output(3, c->MakeShape({b, t, g}));
      for (int k = 4; k < 7; ++k) c->set_output(k, c->MakeShape({b, t, h}));
      return absl::OkStatus();
    });

REGISTER_OP("KloLstmBackward")
    .Input("x: float")
    .Input("u: float")
    .Input("acts: float")
    .Input("h_prev: float")
    .Input("c_prev: float")
    .Input("c_tanh: float")
    .Input("mask: float")
    .Input("dys: float")
    .Input("dh_last: float")
    .Input("dc_last: float")
    .Attr("zero_output_for_mask: bool = false")
    .Attr("reverse: bool = false")
    .Output("dz: float")
    .Output("dh0: float")
    .Output("dc0: float")
    .Output("db: float")
    .Output("dw: float")
    .Output("du: float")
    .SetShapeFn([](klo::InferenceContext* c) {
      klo::ShapeHandle s;
      for (int k : {0, 2, 3, 4, 5, 7}) TF_RETURN_IF_ERROR(c->WithRank(c->input(k), 3, &s));
      for (int k : {1, 8, 9}) TF_RETURN_IF_ERROR(c->WithRank(c->input(k), 2, &s));
      auto g = c->Dim(c->input(2), 2);
      c->set_output(0, c->input(2));
      c->set_output(1, c->input(8));
      c->set_output(2, c->input(9));
      c->set_output(3, c->MakeShape({g}));
      c->set_output(4, c->MakeShape({c->Dim(c->input(0), 2), g}));
      c->set_output(5, c->input(1));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("KloLstmForward").Device(tensorflow::DEVICE_CPU),
                        klo::LstmForwardOp);
REGISTER_KERNEL_BUILDER(Name("KloLstmBackward").Device(tensorflow::DEVICE_CPU),
                        klo::LstmBackwardOp);
