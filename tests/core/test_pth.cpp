#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore {
namespace {

c10::IValue get(const c10::IValue& dict, const c10::IValue& key) {
  return dict.toGenericDict().at(key);
}

TEST(PthTest, ReadsWhatPythonTorchSaveWrites) {
  testing::TempDir dir;
  const auto py = testing::run_python("pth_fixture.py", {"write", dir.file("py.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  const c10::IValue d = pth::load(dir.file("py.pth"));
  const at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  EXPECT_TRUE(at::equal(get(d, "base").toTensor(), base));
  EXPECT_TRUE(at::equal(get(d, "view").toTensor(), base.slice(0, 1).slice(1, 1, 4, 2)));
  EXPECT_TRUE(at::equal(get(d, "transposed").toTensor(), base.t()));
  const at::Tensor half = get(d, "half").toTensor();
  EXPECT_EQ(half.scalar_type(), at::kHalf);
  EXPECT_FLOAT_EQ(half[1].item<float>(), -2.0f);
  EXPECT_EQ(get(d, "long").toTensor()[0].item<std::int64_t>(), -(std::int64_t(1) << 40));
  EXPECT_EQ(get(d, "flags").toTensor().scalar_type(), at::kBool);
  EXPECT_EQ(get(d, "epoch").toInt(), 7);
  EXPECT_EQ(get(d, "big").toInt(), std::int64_t(1) << 40);
  EXPECT_EQ(get(d, "negative").toInt(), -300);
  EXPECT_DOUBLE_EQ(get(d, "lr").toDouble(), 0.125);
  EXPECT_EQ(get(d, "name").toStringRef(), "resnet");
  EXPECT_EQ(get(d, "milestones").toListRef().at(1).toInt(), 60);
  EXPECT_DOUBLE_EQ(get(d, "betas").toTupleRef().elements()[1].toDouble(), 0.999);
  EXPECT_TRUE(get(d, "args").isNone());  // argparse.Namespace is opaque
  EXPECT_TRUE(get(d, "nothing").isNone());
  const auto state = get(get(d, "state"), 0);
  EXPECT_TRUE(at::equal(get(state, "momentum_buffer").toTensor(), at::ones({2})));
  const auto model = get(d, "model").toGenericDict();
  std::vector<std::string> keys;
  for (const auto& kv : model)
    keys.push_back(kv.key().toStringRef());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                      "1.running_var", "1.num_batches_tracked"}));
  EXPECT_TRUE(
      at::equal(model.at("0.weight").toTensor(), at::arange(6, at::kFloat).reshape({3, 2})));
  std::vector<std::string> ordered;
  for (const auto& kv : get(d, "ordered").toGenericDict())
    ordered.push_back(kv.key().toStringRef());
  EXPECT_EQ(ordered, (std::vector<std::string>{"b", "a"}));
}

TEST(PthTest, PythonReadsWhatWeWrite) {
  testing::TempDir dir;
  auto model = pth::new_dict();
  model.insert("w", at::arange(6, at::kFloat).reshape({2, 3}).t());  // non-contiguous
  model.insert("count", at::scalar_tensor(5, at::kLong));
  auto d = pth::new_dict();
  d.insert("model", model);
  d.insert("epoch", -3);
  d.insert("lr", 0.25);
  d.insert("name", std::string("x"));
  c10::impl::GenericList flags(c10::AnyType::get());
  flags.push_back(true);
  flags.push_back(false);
  d.insert("flags", flags);
  d.insert("nested", c10::ivalue::Tuple::create({1, std::int64_t(1) << 40, std::string("s")}));
  d.insert("empty", pth::new_dict());
  pth::save(d, dir.file("cpp.pt"));
  const auto py = testing::run_python("pth_fixture.py", {"check", dir.file("cpp.pt")});
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_EQ(py.output, "ok\n");
}

TEST(PthTest, CorruptFilesAreDataErrors) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("text.pth"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_THROW(pth::load(dir.file("text.pth")), DataError);
  EXPECT_THROW(pth::load(dir.file("missing.pth")), DataError);
  auto d = pth::new_dict();
  d.insert("w", at::ones({4, 4}));
  auto bytes = pth::save_bytes(d);
  for (std::size_t cut : {bytes.size() / 4, bytes.size() / 2, bytes.size() - 30}) {
    const std::vector<char> truncated(bytes.begin(), bytes.begin() + cut);
    EXPECT_THROW(pth::load_bytes(truncated, "truncated.pth"), DataError) << cut;
  }
}

}  // namespace
}  // namespace augcore
