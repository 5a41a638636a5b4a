// Small matrix products for the inference op (lstm_infer.cc): packed gate panels and a
// register-blocked micro-kernel.
//
// Per time step an LSTM multiplies a few rows (the batch rows of h) by the same recurrent
// kernel u [H, 4H]. A general GEMM (Eigen's) re-packs u on every call; here u (and the
// input kernel w) are packed once per op call into panels of 16 columns, [K][16] each,
// in "unit block" order: panel 4 * b + g holds gate g's columns for units 16 b .. 16 b + 15
// (zeros past H). The four panels of a unit block give the four gates of 16 units, so
// the gate arithmetic runs right after the product, on 64 values per row, still in L1.
//
// The micro-kernel keeps an M x (16 NP) block of results in registers (AVX2 + FMA when
// the compiler targets them, -march=native; a plain loop otherwise) and walks K once:
// per k, NP x 2 vector loads of the panels, M broadcasts of the rows' values, 2 M NP FMAs.
//
// With one row (batch 1) nothing reuses a panel, but the panels of a chunk of units are
// contiguous: read in u's own layout, a chunk is short pieces of every row (measured: half
// of a 1 MB u took as long as all of it).
//
// No TensorFlow headers here (they take most of the build time); the ops' other plain
// helpers live here too.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KLO_AVX2 1
#endif

namespace klo {

// Rows multiplied, the packed panels they are multiplied by, and K. Panel p starts at
// panels + p * k * 16. A k of 0 means "no such term".
struct Operand {
  const float* a;
  int64_t lda;
  const float* panels;
  int64_t k;
};

void PackGates(const float* src, int64_t K, int64_t H, int64_t p0, int64_t p1, float* dst) {
  const int64_t N = 4 * H;
  for (int64_t k0 = 0; k0 < K; k0 += 16) {  // 16 rows of src at a time: both sides stay cached
    const int64_t k1 = std::min(K, k0 + 16);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t u0 = (p / 4) * 16, w = std::min<int64_t>(16, H - u0);
      const float* s = src + (p % 4) * H + u0;
      float* d = dst + p * K * 16;
      for (int64_t k = k0; k < k1; ++k) {
        std::memcpy(d + k * 16, s + k * N, sizeof(float) * w);
        if (w < 16) std::memset(d + k * 16 + w, 0, sizeof(float) * (16 - w));
      }
    }
  }
}

// out[m][0, 16 NP) = init[m * ldi + .] + x.a[m] . panels p.. of x + h.a[m] . panels p.. of h
template <int M, int NP>
inline void Tile(const float* init, int64_t ldi, const Operand& x, const Operand& h, int64_t p,
                 float* out, int64_t ldo) {
#ifdef KLO_AVX2
  __m256 acc[M][2 * NP];
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 8
    for (int j = 0; j < 2 * NP; ++j) acc[m][j] = _mm256_loadu_ps(init + m * ldi + 8 * j);
  }
  for (const Operand* op : {&x, &h}) {
    if (op->k == 0) continue;
    const int64_t K = op->k, lda = op->lda;
    const float* a = op->a;
    const float* b = op->panels + p * K * 16;
    for (int64_t k = 0; k < K; ++k) {
      __m256 bv[2 * NP];
#pragma GCC unroll 8
      for (int j = 0; j < 2 * NP; ++j) {
        bv[j] = _mm256_loadu_ps(b + (j / 2) * K * 16 + k * 16 + (j % 2) * 8);
      }
#pragma GCC unroll 8
      for (int m = 0; m < M; ++m) {
        const __m256 s = _mm256_broadcast_ss(a + m * lda + k);
#pragma GCC unroll 8
        for (int j = 0; j < 2 * NP; ++j) acc[m][j] = _mm256_fmadd_ps(s, bv[j], acc[m][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 8
    for (int j = 0; j < 2 * NP; ++j) _mm256_storeu_ps(out + m * ldo + 8 * j, acc[m][j]);
  }
#else
  float acc[M][16 * NP];
  for (int m = 0; m < M; ++m) std::memcpy(acc[m], init + m * ldi, sizeof(acc[m]));
  for (const Operand* op : {&x, &h}) {
    const int64_t K = op->k;
    for (int64_t k = 0; k < K; ++k) {
      for (int m = 0; m < M; ++m) {
        const float s = op->a[m * op->lda + k];
        for (int j = 0; j < 16 * NP; ++j) {
          acc[m][j] += s * op->panels[(p + j / 16) * K * 16 + k * 16 + j % 16];
        }
      }
    }
  }
  for (int m = 0; m < M; ++m) std::memcpy(out + m * ldo, acc[m], sizeof(acc[m]));
#endif
}

inline Operand Shift(const Operand& op, int64_t rows) {
  return {op.k ? op.a + rows * op.lda : op.a, op.lda, op.panels, op.k};
}

// The 64 gate values of unit block ub for `rows` rows: out[r][16 g + j], r < rows.
template <int M, int NP>
inline void Rows(const float* init, int64_t ldi, const Operand& x, const Operand& h, int64_t ub,
                 float* out, int64_t ldo) {
  for (int g = 0; g < 4; g += NP) {
    Tile<M, NP>(init + 16 * g, ldi, x, h, 4 * ub + g, out + 16 * g, ldo);
  }
}

void UnitBlock(int64_t rows, int64_t ub, const float* init, int64_t ldi, const Operand& x,
               const Operand& h, float* out, int64_t ldo) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6) {
    Rows<6, 1>(init + r * ldi, ldi, Shift(x, r), Shift(h, r), ub, out + r * ldo, ldo);
  }
  const Operand xr = Shift(x, r), hr = Shift(h, r);
  const float* ir = init + r * ldi;
  float* o = out + r * ldo;
  switch (rows - r) {  // the remaining rows, with enough independent sums to fill the FMA units
    case 5: Rows<5, 1>(ir, ldi, xr, hr, ub, o, ldo); break;
    case 4: Rows<4, 1>(ir, ldi, xr, hr, ub, o, ldo); break;
    case 3: Rows<3, 2>(ir, ldi, xr, hr, ub, o, ldo); break;
    case 2: Rows<2, 2>(ir, ldi, xr, hr, ub, o, ldo); break;
    case 1: Rows<1, 4>(ir, ldi, xr, hr, ub, o, ldo); break;
    default: break;
  }
}

// Per row of a [B, T] mask, the first processing position (reverse: from the last step)
// whose step is unmasked, T if none (all T if no mask). Masked steps before it output
// zeros, whatever h0: Keras's "previous output" starts at zero.
std::vector<int64_t> FirstUnmasked(const float* m, int64_t B, int64_t T, bool reverse) {
  std::vector<int64_t> first(B, T);
  for (int64_t b = 0; m != nullptr && b < B; ++b) {
    for (int64_t k = 0; k < T && first[b] == T; ++k) {
      if (m[b * T + (reverse ? T - 1 - k : k)] != 0.f) first[b] = k;
    }
  }
  return first;
}

}  // namespace klo
