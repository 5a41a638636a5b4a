// Fused LSTM recurrence for the CPU: one op for the forward loop, one for the backward.
//
// Keras's CPU LSTM runs a tf.while_loop whose every time step is some forty small
// TensorFlow ops; at a few microseconds of dispatch each, small and long shapes spend
// most of their time between ops. These two ops run the whole recurrence in C++.
//
// Batch rows are independent in the recurrence, so each op splits the batch into one
// contiguous block of rows per intra-op thread and runs every time step of its block
// with no synchronisation: per step one small single-threaded Eigen GEMM
// (rows x H) x (H x 4H) plus vectorised gate arithmetic. The large matmuls (the input
// projection of all steps, and the weight gradients over all steps) stay outside, in
// TensorFlow's own MatMul.
//
// Layouts (time-major, row-major, float32): xp [T, B, 4H] = x W + b, gate order
// i, f, c, o as in keras.layers.LSTM; u [H, 4H]; mask [T, B] of 0/1 or an empty
// tensor for "no mask". Masked steps keep the previous state; the output is the
// previous output, or zeros when zero_output_for_mask is set (Keras's semantics).

#include <algorithm>
#include <cstring>

#include "Eigen/Core"
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

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMat>;
using ConstMatMap = Eigen::Map<const RowMat>;
using Vec = Eigen::Array<float, 1, Eigen::Dynamic>;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;

// Runs fn(row_begin, row_end) over blocks of batch rows, one block per thread.
template <typename Fn>
void ForRowBlocks(OpKernelContext* ctx, int64_t batch, Fn fn) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(pool->NumThreads(), batch));
  const int64_t block = (batch + threads - 1) / threads;
  const int64_t blocks = (batch + block - 1) / block;
  pool->ParallelFor(blocks, tsl::thread::ThreadPool::SchedulingParams(
                                tsl::thread::ThreadPool::SchedulingStrategy::kFixedBlockSize,
                                std::nullopt, 1),
                    [&](int64_t first, int64_t last) {
                      for (int64_t k = first; k < last; ++k) {
                        fn(k * block, std::min(batch, (k + 1) * block));
                      }
                    });
}

class LstmForwardOp : public OpKernel {
 public:
  explicit LstmForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("zero_output_for_mask", &zero_out_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xp = ctx->input(0);
    const Tensor& u = ctx->input(1);
    const Tensor& h0 = ctx->input(2);
    const Tensor& c0 = ctx->input(3);
    const Tensor& mask = ctx->input(4);
    OP_REQUIRES(ctx, xp.dims() == 3 && u.dims() == 2 && h0.dims() == 2 && c0.dims() == 2,
                absl::InvalidArgumentError("KloLstmForward: xp must be [T, B, 4H], u [H, 4H], "
                                           "h0 and c0 [B, H]"));
    const int64_t T = xp.dim_size(0), B = xp.dim_size(1), H = u.dim_size(0);
    OP_REQUIRES(ctx, xp.dim_size(2) == 4 * H && u.dim_size(1) == 4 * H &&
                         h0.dim_size(0) == B && h0.dim_size(1) == H &&
                         c0.dim_size(0) == B && c0.dim_size(1) == H,
                absl::InvalidArgumentError("KloLstmForward: inconsistent shapes"));
    const bool masked = mask.NumElements() > 0;
    OP_REQUIRES(ctx, !masked || (mask.dims() == 2 && mask.dim_size(0) == T &&
                                 mask.dim_size(1) == B),
                absl::InvalidArgumentError("KloLstmForward: mask must be [T, B] or empty"));
    Tensor *ys, *h_last, *c_last, *acts, *h_prev, *c_prev;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, H}), &ys));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({B, H}), &h_last));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({B, H}), &c_last));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, TensorShape({T, B, 4 * H}), &acts));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({T, B, H}), &h_prev));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(5, TensorShape({T, B, H}), &c_prev));
    const float* xp_p = xp.flat<float>().data();
    const float* m_p = masked ? mask.flat<float>().data() : nullptr;
    ConstMatMap U(u.flat<float>().data(), H, 4 * H);
    float* ys_p = ys->flat<float>().data();
    float* acts_p = acts->flat<float>().data();
    float* hp_p = h_prev->flat<float>().data();
    float* cp_p = c_prev->flat<float>().data();
    float* h_p = h_last->flat<float>().data();
    float* c_p = c_last->flat<float>().data();
    std::memcpy(h_p, h0.flat<float>().data(), sizeof(float) * B * H);
    std::memcpy(c_p, c0.flat<float>().data(), sizeof(float) * B * H);
    const bool zero_out = zero_out_;
    if (T == 0 || B == 0) return;

    ForRowBlocks(ctx, B, [&](int64_t r0, int64_t r1) {
      const int64_t n = r1 - r0;
      MatMap h(h_p + r0 * H, n, H);  // the running state lives in the outputs
      for (int64_t t = 0; t < T; ++t) {
        const int64_t off = (t * B + r0);
        MatMap z(acts_p + off * 4 * H, n, 4 * H);
        z = ConstMatMap(xp_p + off * 4 * H, n, 4 * H);
        z.noalias() += h * U;
        std::memcpy(hp_p + off * H, h.data(), sizeof(float) * n * H);
        std::memcpy(cp_p + off * H, c_p + r0 * H, sizeof(float) * n * H);
        for (int64_t r = 0; r < n; ++r) {
          float* zr = acts_p + (off + r) * 4 * H;
          VecMap i(zr, H), f(zr + H, H), g(zr + 2 * H, H), o(zr + 3 * H, H);
          i = i.logistic();
          f = f.logistic();
          g = g.tanh();
          o = o.logistic();
          VecMap c(c_p + (r0 + r) * H, H), hr(h_p + (r0 + r) * H, H);
          VecMap y(ys_p + (off + r) * H, H);
          if (!masked) {
            c = f * c + i * g;
            hr = o * c.tanh();
            y = hr;
            continue;
          }
          const float m = m_p[t * B + r0 + r];
          if (m != 0.f) {
            c = f * c + i * g;
            hr = o * c.tanh();
            y = hr;
          } else {
            if (zero_out) y.setZero(); else y = hr;
          }
        }
      }
    });
  }

 private:
  bool zero_out_;
};

class LstmBackwardOp : public OpKernel {
 public:
  explicit LstmBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("zero_output_for_mask", &zero_out_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& u = ctx->input(0);
    const Tensor& acts = ctx->input(1);
    const Tensor& c_prev = ctx->input(2);
    const Tensor& mask = ctx->input(3);
    const Tensor& dys = ctx->input(4);
    const Tensor& dh_last = ctx->input(5);
    const Tensor& dc_last = ctx->input(6);
    OP_REQUIRES(ctx, acts.dims() == 3 && u.dims() == 2,
                absl::InvalidArgumentError("KloLstmBackward: acts must be [T, B, 4H]"));
    const int64_t T = acts.dim_size(0), B = acts.dim_size(1), H = u.dim_size(0);
    OP_REQUIRES(ctx, acts.dim_size(2) == 4 * H && c_prev.NumElements() == T * B * H &&
                         dys.NumElements() == T * B * H && dh_last.NumElements() == B * H &&
                         dc_last.NumElements() == B * H,
                absl::InvalidArgumentError("KloLstmBackward: inconsistent shapes"));
    const bool masked = mask.NumElements() > 0;
    Tensor *dz, *dh0, *dc0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, 4 * H}), &dz));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({B, H}), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({B, H}), &dc0));
    ConstMatMap U(u.flat<float>().data(), H, 4 * H);
    const float* a_p = acts.flat<float>().data();
    const float* cp_p = c_prev.flat<float>().data();
    const float* m_p = masked ? mask.flat<float>().data() : nullptr;
    const float* dy_p = dys.flat<float>().data();
    float* dz_p = dz->flat<float>().data();
    float* dh_p = dh0->flat<float>().data();
    float* dc_p = dc0->flat<float>().data();
    std::memcpy(dh_p, dh_last.flat<float>().data(), sizeof(float) * B * H);
    std::memcpy(dc_p, dc_last.flat<float>().data(), sizeof(float) * B * H);
    const bool zero_out = zero_out_;
    if (T == 0 || B == 0) return;

    ForRowBlocks(ctx, B, [&](int64_t r0, int64_t r1) {
      const int64_t n = r1 - r0;
      MatMap dh(dh_p + r0 * H, n, H);
      RowMat carry_h(masked ? n : 0, H);
      Vec tc(H), dcell(H);
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t off = t * B + r0;
        for (int64_t r = 0; r < n; ++r) {
          const float* ar = a_p + (off + r) * 4 * H;
          ConstVecMap i(ar, H), f(ar + H, H), g(ar + 2 * H, H), o(ar + 3 * H, H);
          ConstVecMap cp(cp_p + (off + r) * H, H), dy(dy_p + (off + r) * H, H);
          VecMap dhr(dh_p + (r0 + r) * H, H), dc(dc_p + (r0 + r) * H, H);
          float* dzr = dz_p + (off + r) * 4 * H;
          VecMap dzi(dzr, H), dzf(dzr + H, H), dzg(dzr + 2 * H, H), dzo(dzr + 3 * H, H);
          const float m = masked ? m_p[t * B + r0 + r] : 1.f;
          if (m == 0.f) {
            // The step kept the previous state: gradients pass through untouched,
            // plus the output's gradient when the output was the previous output.
            dzi.setZero(); dzf.setZero(); dzg.setZero(); dzo.setZero();
            if (!zero_out) dhr += dy;
            carry_h.row(r) = dhr.matrix();
            continue;
          }
          if (masked) carry_h.row(r).setZero();
          dhr += dy;  // dh_new
          tc = (f * cp + i * g).tanh();
          dcell = dc + dhr * o * (1.f - tc * tc);
          dzi = dcell * g * i * (1.f - i);
          dzf = dcell * cp * f * (1.f - f);
          dzg = dcell * i * (1.f - g * g);
          dzo = dhr * tc * o * (1.f - o);
          dc = dcell * f;
        }
        dh.noalias() = ConstMatMap(dz_p + off * 4 * H, n, 4 * H) * U.transpose();
        if (masked) dh += carry_h;
      }
    });
  }

 private:
  bool zero_out_;
};

}  // namespace klo

REGISTER_OP("KloLstmForward")
    .Input("xp: float")
    .Input("u: float")
    .Input("h0: float")
    .Input("c0: float")
    .Input("mask: float")
    .Attr("zero_output_for_mask: bool = false")
    .Output("ys: float")
    .Output("h_last: float")
    .Output("c_last: float")
    .Output("acts: float")
    .Output("h_prev: float")
    .Output("c_prev: float")
    .SetShapeFn([](klo::InferenceContext* c) {
      auto t = c->Dim(c->input(0), 0), b = c->Dim(c->input(0), 1);
      auto h = c->Dim(c->input(1), 0), g = c->Dim(c->input(1), 1);
      c->set_output(0, c->MakeShape({t, b, h}));
      c->set_output(1, c->MakeShape({b, h}));
      c->set_output(2, c->MakeShape({b, h}));
      c->set_output(3, c->MakeShape({t, b, g}));
      c->set_output(4, c->MakeShape({t, b, h}));
      c->set_output(5, c->MakeShape({t, b, h}));
      return absl::OkStatus();
    });

REGISTER_OP("KloLstmBackward")
    .Input("u: float")
    .Input("acts: float")
    .Input("c_prev: float")
    .Input("mask: float")
    .Input("dys: float")
    .Input("dh_last: float")
    .Input("dc_last: float")
    .Attr("zero_output_for_mask: bool = false")
    .Output("dz: float")
    .Output("dh0: float")
    .Output("dc0: float")
    .SetShapeFn([](klo::InferenceContext* c) {
      c->set_output(0, c->input(1));
      c->set_output(1, c->input(5));
      c->set_output(2, c->input(6));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("KloLstmForward").Device(tensorflow::DEVICE_CPU),
                        klo::LstmForwardOp);
REGISTER_KERNEL_BUILDER(Name("KloLstmBackward").Device(tensorflow::DEVICE_CPU),
                        klo::LstmBackwardOp);
