// The VGG16 and VGG19 layer tables, the model names, and the spellings of
// layer names (Keras, Caffe/Torch conv/relu, pool) that canonical_layer_name
// maps to the Keras ones.
#include <gtest/gtest.h>

#include <algorithm>

#include "nst/error.hpp"
#include "nst/network.hpp"

namespace nst {
namespace {

std::vector<std::string> names(const std::vector<LayerSpec>& layers) {
  std::vector<std::string> n;
  for (const LayerSpec& l : layers) n.push_back(l.name);
  return n;
}

size_t conv_params(const std::vector<LayerSpec>& layers) {
  size_t n = 0;
  for (const LayerSpec& l : layers)
    if (l.kind == LayerKind::Conv3x3) n += size_t{9} * l.cin * l.cout + l.cout;
  return n;
}

// The InvalidArgument message of canonical_layer_name(name, layers).
std::string name_error(const std::string& name, const std::vector<LayerSpec>& layers) {
  try {
    const std::string got = canonical_layer_name(name, layers);
    ADD_FAILURE() << "'" << name << "' should be rejected, got '" << got << "'";
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

// --- tables -----------------------------------------------------------------

TEST(LayerTables, Vgg19HasSixteenConvsAndFivePoolsInKerasOrder) {
  const std::vector<std::string> want = {
      "block1_conv1", "block1_conv2", "block1_pool",  "block2_conv1", "block2_conv2", "block2_pool",  "block3_conv1",
      "block3_conv2", "block3_conv3", "block3_conv4", "block3_pool",  "block4_conv1", "block4_conv2", "block4_conv3",
      "block4_conv4", "block4_pool",  "block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4", "block5_pool"};
  const auto layers = vgg19_layers();
  EXPECT_EQ(names(layers), want);
  for (const LayerSpec& l : layers)
    EXPECT_EQ(l.kind, l.name.find("pool") != std::string::npos ? LayerKind::Pool2x2 : LayerKind::Conv3x3) << l.name;
}

TEST(LayerTables, Vgg19ChannelsChainFromRgbThroughTheKerasWidths) {
  const int want[16][2] = {{3, 64},    {64, 64},   {64, 128},  {128, 128}, {128, 256}, {256, 256},
                           {256, 256}, {256, 256}, {256, 512}, {512, 512}, {512, 512}, {512, 512},
                           {512, 512}, {512, 512}, {512, 512}, {512, 512}};
  int i = 0;
  for (const LayerSpec& l : vgg19_layers()) {
    if (l.kind != LayerKind::Conv3x3) continue;
    ASSERT_LT(i, 16);
    EXPECT_EQ(l.cin, want[i][0]) << l.name;
    EXPECT_EQ(l.cout, want[i][1]) << l.name;
    ++i;
  }
  EXPECT_EQ(i, 16);
}

TEST(LayerTables, ParameterCountsAreKerasOnes) {
  EXPECT_EQ(conv_params(vgg16_layers()), 14714688u);  // VGG16(include_top=False).count_params()
  EXPECT_EQ(conv_params(vgg19_layers()), 20024384u);  // VGG19(include_top=False).count_params()
}

TEST(LayerTables, WidthDivisorDividesEveryWidthButTheRgbInput) {
  const auto full = vgg19_layers(1), tiny = vgg19_layers(8);
  ASSERT_EQ(names(full), names(tiny));
  EXPECT_EQ(tiny.front().cin, 3);
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(tiny[i].cout, full[i].cout / 8) << full[i].name;
    if (i > 0) {
      EXPECT_EQ(tiny[i].cin, full[i].cin / 8) << full[i].name;
    }
  }
}

TEST(LayerTables, WidthDivisorBelowOneIsRejected) {
  EXPECT_THROW(vgg16_layers(0), InvalidArgument);
  EXPECT_THROW(vgg19_layers(-2), InvalidArgument);
}

TEST(LayerTables, Vgg16IsVgg19WithoutTheFourthConvsOfBlocks3To5) {
  std::vector<std::string> vgg19 = names(vgg19_layers());
  for (const char* extra : {"block3_conv4", "block4_conv4", "block5_conv4"})
    vgg19.erase(std::find(vgg19.begin(), vgg19.end(), extra));
  EXPECT_EQ(names(vgg16_layers()), vgg19);
}

// --- models -----------------------------------------------------------------

TEST(Models, ModelLayersIsTheModelsTable) {
  EXPECT_EQ(names(model_layers(ModelKind::Vgg16)), names(vgg16_layers()));
  EXPECT_EQ(names(model_layers(ModelKind::Vgg19, 4)), names(vgg19_layers(4)));
  EXPECT_EQ(model_layers(ModelKind::Vgg19, 4).back().cin, vgg19_layers(4).back().cin);
  EXPECT_EQ(model_layers(ModelKind::Vgg19, 4)[1].cout, 16);
}

TEST(Models, NamesRoundTripThroughParseModel) {
  EXPECT_STREQ(model_name(ModelKind::Vgg16), "vgg16");
  EXPECT_STREQ(model_name(ModelKind::Vgg19), "vgg19");
  for (ModelKind m : {ModelKind::Vgg16, ModelKind::Vgg19}) EXPECT_EQ(parse_model(model_name(m)), m);
}

TEST(Models, UnknownModelIsRejectedNamingIt) {
  for (const std::string bad : {"vgg18", "VGG19 ", "", "resnet50", "auto"}) {
    try {
      parse_model(bad);
      ADD_FAILURE() << "'" << bad << "' should be rejected";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("vgg16 or vgg19"), std::string::npos) << e.what();
    }
  }
}

// --- layer names --------------------------------------------------------------

TEST(LayerNames, EveryKerasNameIsReturnedAsIs) {
  for (const auto& layers : {vgg16_layers(), vgg19_layers(8)})
    for (const LayerSpec& l : layers) EXPECT_EQ(canonical_layer_name(l.name, layers), l.name);
}

TEST(LayerNames, CaffeConvAndReluNamesAreTheKerasConv) {
  const auto layers = vgg16_layers();
  EXPECT_EQ(canonical_layer_name("conv4_2", layers), "block4_conv2");
  EXPECT_EQ(canonical_layer_name("relu4_2", layers), "block4_conv2");  // taps are post-ReLU
  EXPECT_EQ(canonical_layer_name("relu1_1", layers), "block1_conv1");
  EXPECT_EQ(canonical_layer_name("conv5_3", layers), "block5_conv3");
}

TEST(LayerNames, PoolNamesAreTheKerasPool) {
  const auto layers = vgg19_layers();
  for (int b = 1; b <= 5; ++b) {
    const std::string keras = "block" + std::to_string(b) + "_pool";
    EXPECT_EQ(canonical_layer_name("pool" + std::to_string(b), layers), keras);
  }
}

TEST(LayerNames, Relu3_4ExistsInVgg19Only) {
  EXPECT_EQ(canonical_layer_name("relu3_4", vgg19_layers()), "block3_conv4");
  EXPECT_EQ(canonical_layer_name("conv5_4", vgg19_layers()), "block5_conv4");
  EXPECT_NE(name_error("relu3_4", vgg16_layers()).find("unknown layer 'relu3_4'"), std::string::npos);
  EXPECT_NE(name_error("block5_conv4", vgg16_layers()).find("unknown layer 'block5_conv4'"), std::string::npos);
}

TEST(LayerNames, MalformedAndAbsentNamesAreRejectedNamingThem) {
  for (const std::string bad :
       {"relu4_", "conv0_1", "block4_conv9", "relu6_1", "pool6", "pool0", "pool", "relu", "", "relu4_2x", "relu4-2",
        "relu_4_2", "Relu4_2", "conv04_2", " relu4_2", "block4_pool2", "block4", "4_2"})
    for (const auto& layers : {vgg16_layers(), vgg19_layers()})
      EXPECT_NE(name_error(bad, layers).find("unknown layer '" + bad + "'"), std::string::npos) << bad;
}

TEST(LayerNames, ErrorListsTheValidLayersAndSpellingsOfTheModel) {
  const std::string vgg16 = name_error("relu6_1", vgg16_layers());
  for (const char* part : {"VGG16 has block1_conv1..block5_conv3", "(2,2,3,3,3 per block)", "block1_pool..block5_pool",
                           "relu5_3, conv5_3 and pool5 also work"})
    EXPECT_NE(vgg16.find(part), std::string::npos) << part << " in:\n" << vgg16;
  const std::string vgg19 = name_error("relu6_1", vgg19_layers(8));
  for (const char* part : {"VGG19 has block1_conv1..block5_conv4", "(2,2,4,4,4 per block)", "relu5_4"})
    EXPECT_NE(vgg19.find(part), std::string::npos) << part << " in:\n" << vgg19;
}

TEST(LayerNames, ATableOfNeitherModelIsDescribedFromItsLayers) {
  const auto vgg16 = vgg16_layers();
  const std::vector<LayerSpec> first_block(vgg16.begin(), vgg16.begin() + 3);  // conv1, conv2, pool
  EXPECT_EQ(canonical_layer_name("relu1_2", first_block), "block1_conv2");
  const std::string msg = name_error("relu2_1", first_block);
  EXPECT_NE(msg.find("the network has block1_conv1..block1_conv2 (2 per block) and block1_pool;"), std::string::npos)
      << msg;
  EXPECT_NE(name_error("relu1_1", {}).find("has no conv layers"), std::string::npos);
}

}  // namespace
}  // namespace nst
