// Run-time dispatch of the compiled elementwise loops. A portable build
// (NST_NATIVE off, the default) targets the x86-64 baseline (SSE2), where
// these memory-bound loops lose 1.5x to 30x against AVX2 (a libm call per
// std::fma, std::nearbyint without SSE4.1; bench/RESULTS.md, "Portable
// build"). NST_CPU_DISPATCH compiles a function twice, for x86-64-v3 (AVX2,
// FMA) and for the baseline, and the loader picks one for the CPU it runs
// on (GNU ifunc); GCC clones the OpenMP-outlined loop bodies too.
//
// Only on functions whose result is the same in both clones (selects,
// max, explicit fma, exact products): the v3 clone may contract a*b+c
// into an fma, so a function with such an expression would round
// differently from the CUDA kernel it is compared with bit for bit.
// Not with -march=native (nothing to choose), Clang (the fuzzers), the
// sanitizers (their run-time is not up when ifunc resolvers run) or
// other architectures.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX2__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && defined(__ELF__)
#define NST_CPU_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NST_CPU_DISPATCH
#endif

// NST_CPU_DISPATCH_WIDE adds an x86-64-v4 (AVX-512) clone, for the loops
// that are written sixteen floats wide (the Winograd transforms). Their
// source files are compiled with -ffp-contract=off, so that every clone
// rounds the same: the three give the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && defined(__ELF__)
#define NST_CPU_DISPATCH_WIDE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NST_CPU_DISPATCH_WIDE
#endif
