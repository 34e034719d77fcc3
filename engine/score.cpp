// Quality scores of a stylised picture: edge correlation (plain float64
// image processing) and style ratio (style losses from an nst::Session).
//
// The style losses use only the part of the Session API that is meant to
// stay stable: the constructor, set_styles, set_image and evaluate().style.
#include "nst/score.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>


namespace nst {
namespace {

// ---- checks -------------------------------------------------------------------

void check_image(const Image& img, const std::string& what) {
  if (img.width <= 0 || img.height <= 0) {
    throw InvalidArgument(what + " image is empty (" + std::to_string(img.width) + "x" +
                          std::to_string(img.height) + ")");
  }
  if (img.rgb.size() != img.pixels() * 3) {
    throw InvalidArgument(what + " image holds " + std::to_string(img.rgb.size()) + " bytes, " +
                          std::to_string(img.width) + "x" + std::to_string(img.height) + "x3 = " +
                          std::to_string(img.pixels() * 3) + " expected");
  }
}

// The content at the output's size (both scores compare at that size).
Image content_at_output_size(const Image& content, const Image& output) {
  check_image(output, "output");
  check_image(content, "content");
  return resize(content, output.width, output.height);
}

// ---- edge maps ----------------------------------------------------------------

// y (H,W) = Rec.601 luminance of rgb (H,W,3), in 0..255.
std::vector<double> luminance(const Image& img) {
  std::vector<double> y(img.pixels());
  for (size_t i = 0; i < y.size(); ++i) {
    const uint8_t* p = &img.rgb[3 * i];
    y[i] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  }
  return y;
}

// k (2r+1), r = ceil(3 sigma): the sampled Gaussian, normalised to sum 1 so
// that a flat image stays flat (and the blur keeps brightness).
std::vector<double> gaussian_kernel(double sigma) {
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> k(2 * r + 1);
  double sum = 0;
  for (int i = -r; i <= r; ++i) {
    k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
    sum += k[i + r];
  }
  for (double& v : k) v /= sum;
  return k;
}

// Edge clamping: a border pixel continues outwards, so borders make no edges.
int clamp_index(int i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

// out (H,W) = x (H,W) blurred by the separable Gaussian: rows, then columns.
std::vector<double> gaussian_blur(const std::vector<double>& x, int h, int w, double sigma) {
  const std::vector<double> k = gaussian_kernel(sigma);
  const int r = static_cast<int>(k.size() / 2);
  std::vector<double> rows(x.size()), out(x.size());
  for (int i = 0; i < h; ++i) {
    for (int j = 0; j < w; ++j) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[t + r] * x[static_cast<size_t>(i) * w + clamp_index(j + t, w)];
      rows[static_cast<size_t>(i) * w + j] = s;
    }
  }
  for (int i = 0; i < h; ++i) {
    for (int j = 0; j < w; ++j) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[t + r] * rows[static_cast<size_t>(clamp_index(i + t, h)) * w + j];
      out[static_cast<size_t>(i) * w + j] = s;
    }
  }
  return out;
}

// m (H,W) = sqrt(gx^2 + gy^2) of x (H,W), with the 3x3 Sobel kernels
//   gx = [-1 0 1; -2 0 2; -1 0 1] (d/dcolumn),  gy = its transpose (d/drow).
std::vector<double> sobel_magnitude(const std::vector<double>& x, int h, int w) {
  std::vector<double> m(x.size());
  auto at = [&](int i, int j) { return x[static_cast<size_t>(clamp_index(i, h)) * w + clamp_index(j, w)]; };
  for (int i = 0; i < h; ++i) {
    for (int j = 0; j < w; ++j) {
      const double gx = (at(i - 1, j + 1) + 2 * at(i, j + 1) + at(i + 1, j + 1)) -
                        (at(i - 1, j - 1) + 2 * at(i, j - 1) + at(i + 1, j - 1));
      const double gy = (at(i + 1, j - 1) + 2 * at(i + 1, j) + at(i + 1, j + 1)) -
                        (at(i - 1, j - 1) + 2 * at(i - 1, j) + at(i - 1, j + 1));
      m[static_cast<size_t>(i) * w + j] = std::sqrt(gx * gx + gy * gy);
    }
  }
  return m;
}

// (H,W) edge strength of an image: |Sobel| of the blurred luminance.
std::vector<double> edge_map(const Image& img) {
  return sobel_magnitude(gaussian_blur(luminance(img), img.height, img.width, kEdgeBlurSigma), img.height,
                         img.width);
}

// Pearson's r of two equally long series; 0 when either is constant.
// Two passes (means, then centred sums) to keep the sums well conditioned.
double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double mean_a = 0, mean_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mean_a += a[i];
    mean_b += b[i];
  }
  mean_a /= n;
  mean_b /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double da = a[i] - mean_a, db = b[i] - mean_b;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa <= 0 || sbb <= 0) return 0;
  return sab / std::sqrt(saa * sbb);
}

// ---- style losses -------------------------------------------------------------

// Each style image's longest side scaled to `longest`, as nst::stylize does.
std::vector<Image> scaled_styles(const std::vector<Image>& styles, int longest) {
  std::vector<Image> out;
  out.reserve(styles.size());
  for (size_t k = 0; k < styles.size(); ++k) {
    check_image(styles[k], "style " + std::to_string(k + 1));
    out.push_back(resize_longest_side(styles[k], longest));
  }
  return out;
}

// Style loss only, at weight 1: no content taps, no total variation.
Options style_only_options(const std::vector<float>& blend, Device device) {
  Options o;
  o.content_layers = {};
  o.content_weight = 0;
  o.tv_weight = 0;
  o.style_weight = 1;
  o.style_blend_weights = blend;
  o.compute.device = device;
  // Only evaluate() is used: the cheapest optimiser state (L-BFGS would
  // plan its whole history).
  o.optimizer = OptimizerKind::Adam;
  return o;
}

// A session of one image size with the style targets set once, so that
// several images of that size are scored against the same Grams.
class StyleLossMeter {
 public:
  StyleLossMeter(const NetworkWeights& weights, int height, int width, const std::vector<Image>& styles,
                 const std::vector<LayerSpec>& layers, const std::vector<float>& blend, Device device)
      : session_(weights, style_only_options(blend, device), height, width, LogFn{}, layers) {
    session_.set_styles(scaled_styles(styles, std::max(height, width)));
  }

  // The style loss of img (height x width).
  double loss(const Image& img) {
    session_.set_image(img);
    return session_.evaluate().style;
  }

 private:
  Session session_;
};

// output / content, with the degenerate case of an already styled content.
double loss_ratio(double output_loss, double content_loss) {
  if (content_loss > 0) return output_loss / content_loss;
  return output_loss > 0 ? std::numeric_limits<double>::infinity() : 1.0;
}

}  // namespace

double edge_correlation(const Image& output, const Image& content) {
  const Image resized = content_at_output_size(content, output);
  return pearson(edge_map(output), edge_map(resized));
}

double style_loss_of(const NetworkWeights& weights, const Image& image, const std::vector<Image>& styles,
                     const std::vector<LayerSpec>& layers, const std::vector<float>& blend, Device device) {
  check_image(image, "scored");
  StyleLossMeter meter(weights, image.height, image.width, styles, layers, blend, device);
  return meter.loss(image);
}

Scores score_image(const NetworkWeights& weights, const Image& output, const Image& content,
                   const std::vector<Image>& styles, const std::vector<LayerSpec>& layers,
                   const std::vector<float>& blend, Device device) {
  const Image resized = content_at_output_size(content, output);
  StyleLossMeter meter(weights, output.height, output.width, styles, layers, blend, device);
  Scores s;
  s.style_loss_output = meter.loss(output);
  s.style_loss_content = meter.loss(resized);
  s.style_ratio = loss_ratio(s.style_loss_output, s.style_loss_content);
  s.edge_correlation = pearson(edge_map(output), edge_map(resized));
  return s;
}

}  // namespace nst
