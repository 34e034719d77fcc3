// What nst's command-line tools share: flag checks whose messages say what
// is expected, strict number parsing, the --style list rule, and one main()
// that turns every failure into a message and an exit status.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nst::tools {

// Flag checks: "--iterations: must be a whole number >= 0, got '-1'".
CLI::Validator whole_number_in(long long min, long long max);
CLI::Validator whole_number_at_least(long long min);  // and < 2^31, for int flags
CLI::Validator number_at_least(double min);   // finite, >= min
CLI::Validator number_above(double min);      // finite, > min

// A decimal in 0..2^64-1 and nothing else: no sign, no wrap, no trailing
// text. Throws nst::InvalidArgument naming `what`.
uint64_t parse_seed(const std::string& text, const std::string& what);
CLI::Validator seed_number();  // the same rule as a flag check

// The --style rule: a value that names an existing file is that file, even
// with commas in its name; any other value is a comma separated list.
// Repeating the flag adds more. Throws nst::FileError naming a missing file.
std::vector<std::string> style_files(const std::vector<std::string>& values, const std::string& flag);

// Parses, runs `body`, and maps the outcome to an exit status: 0 done (or
// --help), 2 bad flags (CLI11's message), 1 any other error
// ("TOOL: error: ..."), out of memory included.
int run_main(CLI::App& app, int argc, char** argv, const std::string& tool, const std::function<int()>& body);

}  // namespace nst::tools
