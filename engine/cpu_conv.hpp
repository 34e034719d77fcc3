// Which convolution algorithm the cpu backend runs on each layer
// (ComputeOptions::cpu_conv_algo). Shared by the cpu backend and the
// memory estimate, so that both apply the same rules.
#pragma once
#include <functional>
#include <string>

#include "engine/backend.hpp"
#include "nst/nst.hpp"

namespace nst {

// Winograd F(4x4,3x3) can run a layer of cin -> cout channels: its 36
// GEMMs per block of tiles are (tiles, cin) x (cin, cout), and below 16
// channels either way they run far from peak (measured: VGG's 3 -> 64
// first layer at 0.3-0.8x GEMM's speed; bench/RESULTS.md, "Winograd").
bool winograd_applies(int cin, int cout);

// Whether `algo` may run Winograd on conv x -> cout at all: Winograd where
// it applies; Auto where it applies and the layer is large enough to time
// (below ~1e8 FLOPs, about a millisecond, a timing is noise on a shared
// machine and the run too short to gain); never under Gemm. The backend
// keeps Winograd's workspace for every candidate.
bool winograd_candidate(CpuConvAlgo algo, const Shape& x, int cout);

enum class ConvDirection { Fprop, Dgrad };

// Auto's choice for one direction of conv x -> cout on the current OpenMP
// thread count: true for Winograd. The first time a process asks for a
// shape, `gemm` and `winograd` (each computing the op on the caller's real
// buffers) are timed, and the answer is kept for the process (thread-safe,
// one measurement at a time), so sessions of one process agree; `log`
// then gets one line saying what was measured. The caller runs the chosen
// algorithm afterwards: the op's output is the chosen one's either way.
bool auto_runs_winograd(ConvDirection direction, const Shape& x, int cout, const std::function<void()>& gemm,
                        const std::function<void()>& winograd, const LogFn& log);

// "gemm", "winograd" or "auto".
const char* cpu_conv_algo_name(CpuConvAlgo algo);

}  // namespace nst
