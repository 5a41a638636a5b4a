// Int8 products for LSTM inference (`klo.Predictor(model, precision="int8")`).
//
// Weights: each kernel column (one gate of one unit) quantised on its own, symmetric,
// scale = max |w| / 127, packed into panels of 16 columns in the unit-block order of
// lstm_gemm.cc; within a panel, groups of 4 consecutive rows: [K4][16 columns][4 rows],
// 64 bytes a group, the operand layout of AVX-512 VNNI's vpdpbusd (u8 x s8, four products
// summed into each int32 lane).
// Activations, at run time: each row of the layer's input x (one time step of one sequence)
// gets its own scale, max |x| / 127; h lies in (-1, 1) (o * tanh(c)), so its scale is 1/127
// and each unit block's new h is quantised as soon as the gates give it, with no pass over
// the whole row. Values are stored as u8 = q + 128 (vpdpbusd takes unsigned on the left);
// the 128 * sum of each column's int8 values, kept with the panels, is taken off again.
// A product is then a_scale * w_scale * (sum of u8 * s8 - colsum), in float.
//
// With AVX-512 VNNI (-march=native on a CPU that has it): an M x 64 block of int32 sums
// in registers (M <= 6: 24 accumulators, 4 panel vectors, 1 broadcast); otherwise a plain
// loop with the same numbers (integer sums are exact in any order).
//
// No TensorFlow headers (lstm_run.h declares what is here, and QuantPanels).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lstm_run.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define KLO_VNNI 1
#endif

namespace klo {

// Kernel src [K, 4H] (gates i, f, c, o side by side) into panels; H padded to 16 units.
void QuantizeGates(const float* src, int64_t K, int64_t H, QuantPanels* out) {
  const int64_t Hp = (H + 15) / 16 * 16, NB = Hp / 16, G = 4 * Hp, N = 4 * H, K4 = (K + 3) / 4;
  out->K = K;
  out->K4 = K4;
  out->q.assign(std::max<int64_t>(1, 4 * NB * K4 * 64), 0);
  out->colsum.assign(G, 0);
  out->scale.assign(G, 1.f);
  for (int64_t p = 0; p < 4 * NB; ++p) {
    const int64_t u0 = (p / 4) * 16, g = p % 4;
    for (int64_t j = 0; j < 16 && u0 + j < H; ++j) {
      const int64_t col = g * H + u0 + j, pc = 16 * p + j;
      float peak = 0.f;
      for (int64_t k = 0; k < K; ++k) peak = std::max(peak, std::fabs(src[k * N + col]));
      const float scale = peak > 0.f ? peak / 127.f : 1.f;
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const auto v = static_cast<int8_t>(std::lrintf(src[k * N + col] / scale));
        out->q[p * K4 * 64 + (k / 4) * 64 + j * 4 + k % 4] = v;
        sum += v;
      }
      out->scale[pc] = scale;
      out->colsum[pc] = 128 * sum;
    }
  }
}

// Rows of x [rows, K] (row stride ld) as u8, each with its own scale; padded to 4 K4 with
// 128 (zero). Rounding: to nearest, ties to even (lrintf's and the vector conversion's).
void QuantizeRows(const float* x, int64_t rows, int64_t K, int64_t ld, int64_t K4, uint8_t* out,
                  float* scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    float peak = 0.f;
    int64_t k = 0;
#ifdef KLO_VNNI
    __m512 vpeak = _mm512_setzero_ps();
    for (; k + 16 <= K; k += 16) {
      vpeak = _mm512_max_ps(vpeak, _mm512_abs_ps(_mm512_loadu_ps(xr + k)));
    }
    peak = _mm512_reduce_max_ps(vpeak);
#endif
    for (; k < K; ++k) peak = std::max(peak, std::fabs(xr[k]));
    scale[r] = peak > 0.f ? peak / 127.f : 1.f;
    const float inv = 1.f / scale[r];
    uint8_t* o = out + r * 4 * K4;
    k = 0;
#ifdef KLO_VNNI
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i zero = _mm512_set1_epi32(128);
    for (; k + 16 <= K; k += 16) {
      const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xr + k), vinv));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k),
                       _mm512_cvtepi32_epi8(_mm512_add_epi32(q, zero)));
    }
#endif
    for (; k < K; ++k) o[k] = static_cast<uint8_t>(std::lrintf(xr[k] * inv) + 128);
    std::memset(o + K, 128, 4 * K4 - K);
  }
}

// h values in (-1, 1) to u8 with the fixed scale 1/127.
void QuantizeH(const float* h, int64_t n, uint8_t* out) {
  int64_t i = 0;
#ifdef KLO_VNNI
  const __m512 lo = _mm512_set1_ps(-1.f), hi = _mm512_set1_ps(1.f), k127 = _mm512_set1_ps(127.f);
  const __m512i zero = _mm512_set1_epi32(128);
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_loadu_ps(h + i), lo), hi);
    const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, k127));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm512_cvtepi32_epi8(_mm512_add_epi32(q, zero)));
  }
#endif
  for (; i < n; ++i) {
    out[i] = static_cast<uint8_t>(std::lrintf(std::clamp(h[i], -1.f, 1.f) * 127.f) + 128);
  }
}

namespace {

// out[m][0, 64) = init[m * ldi + .] + a_scale[m] * w_scale * (a[m] . panels - colsum), for
// the four panels of unit block ub.
template <int M>
inline void QRows(const float* init, int64_t ldi, const uint8_t* a, int64_t lda,
                  const float* a_scale, int64_t lds, const QuantPanels& p, int64_t ub,
                  float* out, int64_t ldo) {
  const int64_t K4 = p.K4;
  const int8_t* base = p.q.data() + 4 * ub * K4 * 64;
  const int32_t* colsum = p.colsum.data() + 64 * ub;
  const float* scale = p.scale.data() + 64 * ub;
#ifdef KLO_VNNI
  __m512i acc[M][4];
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) acc[m][g] = _mm512_setzero_si512();
  }
  for (int64_t k = 0; k < K4; ++k) {
    __m512i b[4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) b[g] = _mm512_loadu_si512(base + (g * K4 + k) * 64);
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      int32_t four;
      std::memcpy(&four, a + m * lda + 4 * k, 4);
      const __m512i av = _mm512_set1_epi32(four);
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) acc[m][g] = _mm512_dpbusd_epi32(acc[m][g], av, b[g]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    const __m512 sa = _mm512_set1_ps(a_scale[m * lds]);
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const __m512i sum = _mm512_sub_epi32(acc[m][g], _mm512_loadu_si512(colsum + 16 * g));
      const __m512 s = _mm512_mul_ps(sa, _mm512_loadu_ps(scale + 16 * g));
      const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), s,
                                       _mm512_loadu_ps(init + m * ldi + 16 * g));
      _mm512_storeu_ps(out + m * ldo + 16 * g, v);
    }
  }
#else
  for (int m = 0; m < M; ++m) {
    for (int c = 0; c < 64; ++c) {
      const int8_t* col = base + (c / 16) * K4 * 64 + (c % 16) * 4;
      int32_t sum = 0;
      for (int64_t k = 0; k < 4 * K4; ++k) {
        sum += int32_t{a[m * lda + k]} * int32_t{col[(k / 4) * 64 + k % 4]};
      }
      out[m * ldo + c] =
          init[m * ldi + c] + a_scale[m * lds] * scale[c] * static_cast<float>(sum - colsum[c]);
    }
  }
#endif
}

}  // namespace

// QRows for `rows` rows, six at a time (row r's scale: a_scale[r * lds]). out may be init.
void QUnitBlock(int64_t rows, int64_t ub, const float* init, int64_t ldi, const uint8_t* a,
                int64_t lda, const float* a_scale, int64_t lds, const QuantPanels& p, float* out,
                int64_t ldo) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6) {
    QRows<6>(init + r * ldi, ldi, a + r * lda, lda, a_scale + r * lds, lds, p, ub,
             out + r * ldo, ldo);
  }
  const float* ir = init + r * ldi;
  const uint8_t* ar = a + r * lda;
  const float* sr = a_scale + r * lds;
  float* o = out + r * ldo;
  switch (rows - r) {
    case 5: QRows<5>(ir, ldi, ar, lda, sr, lds, p, ub, o, ldo); break;
    case 4: QRows<4>(ir, ldi, ar, lda, sr, lds, p, ub, o, ldo); break;
    case 3: QRows<3>(ir, ldi, ar, lda, sr, lds, p, ub, o, ldo); break;
    case 2: QRows<2>(ir, ldi, ar, lda, sr, lds, p, ub, o, ldo); break;
    case 1: QRows<1>(ir, ldi, ar, lda, sr, lds, p, ub, o, ldo); break;
    default: break;
  }
}

bool HasVnni() {
#ifdef KLO_VNNI
  return true;
#else
  return false;
#endif
}

}  // namespace klo
