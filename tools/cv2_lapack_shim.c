/* BLAS/LAPACK for OpenCV through numpy's OpenBLAS.
 *
 * OpenCV's wheel ships its own OpenBLAS (37 MiB) for the 19 BLAS/LAPACK routines cv2 imports
 * (matrix products, LU, Cholesky, QR, least squares, SVD, eigenvalues of large matrices). numpy
 * ships another OpenBLAS, built with 64-bit integers and prefixed names (scipy_openblas64_).
 * In the bundle, this library takes the place of OpenCV's: it exports the same 32-bit-integer
 * entry points and forwards each call to numpy's library, widening the integer arguments and
 * narrowing them back (pivot indices, info). Built by build.spec; checked by `nepocr --self-test`.
 */
#include <stdint.h>
#include <stdlib.h>

typedef int64_t i64;

/* numpy's OpenBLAS: Fortran LAPACK (hidden string lengths last) and CBLAS, 64-bit integers */
#define F(name) scipy_##name##_64_
extern void F(sgesv)(i64 *, i64 *, float *, i64 *, i64 *, float *, i64 *, i64 *);
extern void F(dgesv)(i64 *, i64 *, double *, i64 *, i64 *, double *, i64 *, i64 *);
extern void F(sgetrf)(i64 *, i64 *, float *, i64 *, i64 *, i64 *);
extern void F(dgetrf)(i64 *, i64 *, double *, i64 *, i64 *, i64 *);
extern void F(sposv)(const char *, i64 *, i64 *, float *, i64 *, float *, i64 *, i64 *, size_t);
extern void F(dposv)(const char *, i64 *, i64 *, double *, i64 *, double *, i64 *, i64 *, size_t);
extern void F(spotrf)(const char *, i64 *, float *, i64 *, i64 *, size_t);
extern void F(dpotrf)(const char *, i64 *, double *, i64 *, i64 *, size_t);
extern void F(sgels)(const char *, i64 *, i64 *, i64 *, float *, i64 *, float *, i64 *, float *, i64 *,
                     i64 *, size_t);
extern void F(dgels)(const char *, i64 *, i64 *, i64 *, double *, i64 *, double *, i64 *, double *,
                     i64 *, i64 *, size_t);
extern void F(sgeqrf)(i64 *, i64 *, float *, i64 *, float *, float *, i64 *, i64 *);
extern void F(dgeqrf)(i64 *, i64 *, double *, i64 *, double *, double *, i64 *, i64 *);
extern void F(sgesdd)(const char *, i64 *, i64 *, float *, i64 *, float *, float *, i64 *, float *,
                      i64 *, float *, i64 *, i64 *, i64 *, size_t);
extern void F(dgesdd)(const char *, i64 *, i64 *, double *, i64 *, double *, double *, i64 *,
                      double *, i64 *, double *, i64 *, i64 *, i64 *, size_t);
extern void F(dgeev)(const char *, const char *, i64 *, double *, i64 *, double *, double *, double *,
                     i64 *, double *, i64 *, double *, i64 *, i64 *, size_t, size_t);

extern void scipy_cblas_sgemm64_(int, int, int, i64, i64, i64, float, const float *, i64,
                                 const float *, i64, float, float *, i64);
extern void scipy_cblas_dgemm64_(int, int, int, i64, i64, i64, double, const double *, i64,
                                 const double *, i64, double, double *, i64);
extern void scipy_cblas_cgemm64_(int, int, int, i64, i64, i64, const void *, const void *, i64,
                                 const void *, i64, const void *, void *, i64);
extern void scipy_cblas_zgemm64_(int, int, int, i64, i64, i64, const void *, const void *, i64,
                                 const void *, i64, const void *, void *, i64);

#define W(x) i64 x##_ = *x
#define OUT_INFO *info = (int)info_
#define EXPORT __attribute__((visibility("default")))

/* pivot indices: widen a caller's int array into a temporary, and narrow it back */
static i64 *widen(const int *src, i64 n, int copy) {
    i64 *dst = malloc((size_t)(n > 0 ? n : 1) * sizeof(i64));
    if (dst && copy)
        for (i64 i = 0; i < n; i++) dst[i] = src[i];
    return dst;
}
static void narrow(int *dst, i64 *src, i64 n) {
    for (i64 i = 0; i < n; i++) dst[i] = (int)src[i];
    free(src);
}

#define GESV(p, T)                                                                              \
    EXPORT void p##gesv_(int *n, int *nrhs, T *a, int *lda, int *ipiv, T *b, int *ldb, int *info) { \
        W(n); W(nrhs); W(lda); W(ldb); i64 info_ = 0;                                           \
        i64 *piv = widen(ipiv, n_, 0);                                                          \
        if (!piv) { *info = -5; return; }                                                       \
        F(p##gesv)(&n_, &nrhs_, a, &lda_, piv, b, &ldb_, &info_);                               \
        narrow(ipiv, piv, n_); OUT_INFO;                                                        \
    }
GESV(s, float)
GESV(d, double)

#define GETRF(p, T)                                                                             \
    EXPORT void p##getrf_(int *m, int *n, T *a, int *lda, int *ipiv, int *info) {                \
        W(m); W(n); W(lda); i64 info_ = 0; i64 k = m_ < n_ ? m_ : n_;                           \
        i64 *piv = widen(ipiv, k, 0);                                                           \
        if (!piv) { *info = -5; return; }                                                       \
        F(p##getrf)(&m_, &n_, a, &lda_, piv, &info_);                                           \
        narrow(ipiv, piv, k); OUT_INFO;                                                         \
    }
GETRF(s, float)
GETRF(d, double)

#define POSV(p, T)                                                                              \
    EXPORT void p##posv_(const char *uplo, int *n, int *nrhs, T *a, int *lda, T *b, int *ldb,    \
                         int *info) {                                                           \
        W(n); W(nrhs); W(lda); W(ldb); i64 info_ = 0;                                           \
        F(p##posv)(uplo, &n_, &nrhs_, a, &lda_, b, &ldb_, &info_, 1); OUT_INFO;                 \
    }
POSV(s, float)
POSV(d, double)

#define POTRF(p, T)                                                                             \
    EXPORT void p##potrf_(const char *uplo, int *n, T *a, int *lda, int *info) {                 \
        W(n); W(lda); i64 info_ = 0;                                                            \
        F(p##potrf)(uplo, &n_, a, &lda_, &info_, 1); OUT_INFO;                                  \
    }
POTRF(s, float)
POTRF(d, double)

#define GELS(p, T)                                                                              \
    EXPORT void p##gels_(const char *trans, int *m, int *n, int *nrhs, T *a, int *lda, T *b,     \
                         int *ldb, T *work, int *lwork, int *info) {                            \
        W(m); W(n); W(nrhs); W(lda); W(ldb); W(lwork); i64 info_ = 0;                           \
        F(p##gels)(trans, &m_, &n_, &nrhs_, a, &lda_, b, &ldb_, work, &lwork_, &info_, 1);      \
        OUT_INFO;                                                                               \
    }
GELS(s, float)
GELS(d, double)

#define GEQRF(p, T)                                                                             \
    EXPORT void p##geqrf_(int *m, int *n, T *a, int *lda, T *tau, T *work, int *lwork, int *info) { \
        W(m); W(n); W(lda); W(lwork); i64 info_ = 0;                                            \
        F(p##geqrf)(&m_, &n_, a, &lda_, tau, work, &lwork_, &info_); OUT_INFO;                  \
    }
GEQRF(s, float)
GEQRF(d, double)

#define GESDD(p, T)                                                                             \
    EXPORT void p##gesdd_(const char *jobz, int *m, int *n, T *a, int *lda, T *s, T *u, int *ldu, \
                          T *vt, int *ldvt, T *work, int *lwork, int *iwork, int *info) {       \
        W(m); W(n); W(lda); W(ldu); W(ldvt); W(lwork); i64 info_ = 0;                           \
        i64 k = 8 * (m_ < n_ ? m_ : n_);                                                        \
        i64 *iw = widen(iwork, k, 0);                                                           \
        if (!iw) { *info = -13; return; }                                                       \
        F(p##gesdd)(jobz, &m_, &n_, a, &lda_, s, u, &ldu_, vt, &ldvt_, work, &lwork_, iw, &info_, 1); \
        free(iw); OUT_INFO;                                                                     \
    }
GESDD(s, float)
GESDD(d, double)

EXPORT void dgeev_(const char *jobvl, const char *jobvr, int *n, double *a, int *lda, double *wr,
                   double *wi, double *vl, int *ldvl, double *vr, int *ldvr, double *work,
                   int *lwork, int *info) {
    W(n); W(lda); W(ldvl); W(ldvr); W(lwork); i64 info_ = 0;
    F(dgeev)(jobvl, jobvr, &n_, a, &lda_, wr, wi, vl, &ldvl_, vr, &ldvr_, work, &lwork_, &info_, 1, 1);
    OUT_INFO;
}

EXPORT void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    scipy_cblas_sgemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
EXPORT void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha,
                        const double *a, int lda, const double *b, int ldb, double beta, double *c,
                        int ldc) {
    scipy_cblas_dgemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
EXPORT void cblas_cgemm(int order, int ta, int tb, int m, int n, int k, const void *alpha,
                        const void *a, int lda, const void *b, int ldb, const void *beta, void *c,
                        int ldc) {
    scipy_cblas_cgemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
EXPORT void cblas_zgemm(int order, int ta, int tb, int m, int n, int k, const void *alpha,
                        const void *a, int lda, const void *b, int ldb, const void *beta, void *c,
                        int ldc) {
    scipy_cblas_zgemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
