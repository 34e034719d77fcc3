#include "tools/cli_common.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "nst/error.hpp"

namespace nst::tools {
namespace {

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// strtod over the whole text, or false (empty, trailing text, overflow).
bool parse_double(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE && std::isfinite(value);
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "--content=" with nothing after '=' would make CLI11 take the next
// argument (another flag) as the value.
void reject_empty_assignments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return;
    if (arg.size() > 3 && arg.compare(0, 2, "--") == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      throw CLI::ValidationError(arg.substr(0, arg.size() - 1), "empty value after '='");
    }
  }
}

}  // namespace

CLI::Validator whole_number_in(long long min, long long max) {
  const std::string expected = "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, expected](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        const bool ok = !text.empty() && end == text.c_str() + text.size() && errno != ERANGE && v >= min && v <= max;
        return ok ? "" : expected + ", got " + in_quotes(text);
      },
      "INT in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

CLI::Validator whole_number_at_least(long long min) { return whole_number_in(min, 2147483647LL); }

CLI::Validator number_at_least(double min) {
  const std::string expected = "must be a number >= " + format_number(min);
  return CLI::Validator(
      [min, expected](std::string& text) -> std::string {
        double v = 0;
        return parse_double(text, v) && v >= min ? "" : expected + ", got " + in_quotes(text);
      },
      "NUM>=" + format_number(min));
}

CLI::Validator number_above(double min) {
  const std::string expected = "must be a number > " + format_number(min);
  return CLI::Validator(
      [min, expected](std::string& text) -> std::string {
        double v = 0;
        return parse_double(text, v) && v > min ? "" : expected + ", got " + in_quotes(text);
      },
      "NUM>" + format_number(min));
}

uint64_t parse_seed(const std::string& text, const std::string& what) {
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE) {
    throw InvalidArgument(what + ": the seed must be a whole number from 0 to 18446744073709551615, got " +
                          in_quotes(text));
  }
  return v;
}

CLI::Validator seed_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_seed(text, "seed");
          return "";
        } catch (const Error&) {
          return "must be a whole number from 0 to 18446744073709551615, got " + in_quotes(text);
        }
      },
      "SEED");
}

std::vector<std::string> style_files(const std::vector<std::string>& values, const std::string& flag) {
  std::vector<std::string> files;
  for (const std::string& value : values) {
    if (is_regular_file(value)) {
      files.push_back(value);
      continue;
    }
    if (value.find(',') == std::string::npos) {
      struct stat st {};
      const bool exists = ::stat(value.c_str(), &st) == 0;
      throw FileError(flag + " " + in_quotes(value) + ": " +
                      (!exists ? "no such file" : S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file"));
    }
    size_t start = 0;
    while (true) {
      const size_t comma = value.find(',', start);
      const std::string part = value.substr(start, comma - start);
      if (part.empty()) throw InvalidArgument(flag + " " + in_quotes(value) + ": an empty name in the list");
      if (!is_regular_file(part)) {
        throw FileError(flag + " " + in_quotes(value) + ": no such file, and when split at its commas, no file " +
                        in_quotes(part));
      }
      files.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return files;
}

int run_main(CLI::App& app, int argc, char** argv, const std::string& tool, const std::function<int()>& body) {
  try {
    reject_empty_assignments(argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory (lower the image size)\n", tool.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.what());
  }
  return 1;
}

}  // namespace nst::tools
