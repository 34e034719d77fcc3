// Which convolution algorithm the cpu backend runs on each layer
// (ComputeOptions::cpu_conv_algo). Shared by the cpu backend and the
// memory estimate, so that both apply the same rules.
#pragma once
#include <functional>
#include <string>

#include "engine/backend.hpp"
#include "nst/nst.hpp"

namespace nst {

enum class ConvDirection { Fprop, Dgrad };

// Winograd F(4x4,3x3) can run one direction of a cin -> cout layer: its 36
// GEMMs per block of tiles sum over the channels the direction reads
// (cin forward, cout backward), and below 16 of them they run far from
// peak. Measured on VGG's 3 -> 64 first layer at 256 px: forward 3.8 ms
// against GEMM's 3.7, backward 4.3 against 15.2 (bench/RESULTS.md,
// "Winograd"), so its backward runs Winograd and its forward GEMM.
bool winograd_applies(ConvDirection direction, int cin, int cout);

// Whether `algo` may run Winograd on this direction of conv x -> cout at
// all: Winograd where it applies; Auto where it applies and the layer is
// large enough to time (below ~1e8 FLOPs, about a millisecond, a timing is
// noise on a shared machine and the run too short to gain); never under
// Gemm. The backend keeps Winograd's workspace for every candidate.
bool winograd_candidate(CpuConvAlgo algo, ConvDirection direction, const Shape& x, int cout);

// The two things the cpu backend keeps for Winograd, by the rules above,
// which the memory estimate counts the same way:
// a transformed kernel for this direction of a frozen cin -> cout kernel
// (wherever Winograd applies, unless `algo` is Gemm) ...
bool keeps_winograd_kernel(CpuConvAlgo algo, ConvDirection direction, int cin, int cout);
// ... and Winograd's workspace for conv x -> cout (either direction a
// candidate; Auto may then time GEMM faster, the workspace stays).
bool needs_winograd_workspace(CpuConvAlgo algo, const Shape& x, int cout);

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
