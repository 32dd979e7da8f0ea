"""The Python package against the C++ library: every bound policy, KeepAugment's saliency, MRA and
MaskSub give bitwise the C++ library's outputs on the same inputs and seeds (written by
augcore_parity_reference, which $AUGCORE_PARITY_REFERENCE names), replay through sample()/apply(),
and bad input raises augcore's exceptions with its one-line messages.

    python test_bindings.py            # CPU
    python test_bindings.py --cuda     # the same policies on CUDA tensors (exit 77 without a GPU)
"""

import os
import subprocess
import sys
import tempfile
import threading
import unittest

import torch
import torch.nn.functional as F

import augcore

SEED = 7


def gen(seed=SEED):
    return torch.Generator().manual_seed(seed)


def small_net(reference):
    """The C++ driver's SmallNet with its weights."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(8, 10))
    with torch.no_grad():
        net[0].weight.copy_(reference["net.conv.weight"])
        net[0].bias.copy_(reference["net.conv.bias"])
        net[4].weight.copy_(reference["net.linear.weight"])
        net[4].bias.copy_(reference["net.linear.bias"])
    return net


def image_policies():
    """The image policies of the driver, by reference name, with the driver's options."""
    return {
        "cutout": augcore.Cutout(6, p=0.7, fill=[0.1, 0.2, 0.3]),
        "cutout_max_fraction": augcore.Cutout(1, max_fraction=0.5),
        "random_erasing": augcore.RandomErasing(p=0.8, mode="pixel", count=(1, 3), mean=0.4,
                                                std=0.2),
        "autoaugment": augcore.AutoAugment(policy="cifar10", interpolation="bilinear", fill=0.2),
        "randaugment": augcore.RandAugment(),
        "trivialaugment": augcore.TrivialAugment(),
        "fixmatch_randaugment": augcore.FixMatchRandAugment(),
        "three_augment": augcore.ThreeAugment(),
    }


def mixing_policies():
    return {
        "mixup": augcore.Mixup(10, alpha=0.4, mode="elem", label_smoothing=0.1),
        "cutmix": augcore.CutMix(10, p=0.9),
        "mixup_or_cutmix": augcore.MixupOrCutMix(10),
    }


class Reference:
    directory = None
    values = None

    @classmethod
    def load(cls):
        if cls.values is None:
            driver = os.environ.get("AUGCORE_PARITY_REFERENCE")
            if not driver:
                raise unittest.SkipTest("AUGCORE_PARITY_REFERENCE names no driver")
            cls.directory = tempfile.mkdtemp(prefix="augcore-parity-")
            subprocess.run([driver, cls.directory], check=True)
            cls.values = torch.load(os.path.join(cls.directory, "reference.pth"))
        return cls.values


class PolicyParity(unittest.TestCase):
    def setUp(self):
        self.ref = Reference.load()
        self.images, self.labels = self.ref["images"], self.ref["labels"]

    def test_image_policies_equal_the_library(self):
        for name, policy in image_policies().items():
            with self.subTest(policy=name):
                self.assertTrue(torch.equal(policy(self.images, generator=gen()), self.ref[name]))

    def test_mixing_policies_equal_the_library(self):
        for name, policy in mixing_policies().items():
            with self.subTest(policy=name):
                images, targets = policy(self.images, self.labels, generator=gen())
                self.assertTrue(torch.equal(images, self.ref[name + ".images"]))
                self.assertTrue(torch.equal(targets, self.ref[name + ".targets"]))

    def test_sample_then_apply_replays_a_call(self):
        for name, policy in image_policies().items():
            with self.subTest(policy=name):
                draw = policy.sample(self.images, gen())
                self.assertTrue(torch.equal(policy.apply(self.images, draw), self.ref[name]))
        for name in ("mixup", "cutmix"):
            policy = mixing_policies()[name]
            draw = policy.sample(self.images, gen())
            images, targets = policy.apply(self.images, self.labels, draw)
            self.assertTrue(torch.equal(images, self.ref[name + ".images"]))
            self.assertTrue(torch.equal(targets, self.ref[name + ".targets"]))

    def test_a_drawn_box_can_be_edited_and_replayed(self):
        cutout = augcore.Cutout(6, fill=0.0)
        boxes = cutout.sample(self.images, gen())
        boxes.y0, boxes.y1 = torch.zeros(6, dtype=torch.long), torch.full((6,), 2)
        boxes.x0, boxes.x1 = torch.zeros(6, dtype=torch.long), torch.full((6,), 3)
        expected = self.images.clone()
        expected[:, :, :2, :3] = 0
        self.assertTrue(torch.equal(cutout.apply(self.images, boxes), expected))
        erasing = augcore.RandomErasing(p=1.0)
        draw = erasing.sample(self.images, gen())
        draw.boxes = [boxes]
        draw.fills = [torch.full((1, 3, 1, 1), 0.25)]
        expected[:, :, :2, :3] = 0.25
        self.assertTrue(torch.equal(erasing.apply(self.images, draw), expected))

    def test_calls_advance_the_callers_generator(self):
        g = gen()
        augcore.RandAugment()(self.images, generator=g)
        fresh = torch.rand(4, generator=gen())
        self.assertFalse(torch.equal(torch.rand(4, generator=g), fresh))
        # The default generator is torch's: seeding it makes calls repeat, and calls advance it.
        torch.manual_seed(3)
        first = augcore.Cutout(6)(self.images)
        after = torch.rand(4)
        torch.manual_seed(3)
        self.assertTrue(torch.equal(augcore.Cutout(6)(self.images), first))
        torch.manual_seed(3)
        self.assertFalse(torch.equal(torch.rand(4), after))

    def test_dtype_and_memory_format_are_kept(self):
        channels_last = self.images.contiguous(memory_format=torch.channels_last)
        out = image_policies()["cutout"](channels_last, generator=gen())
        self.assertTrue(out.is_contiguous(memory_format=torch.channels_last))
        self.assertTrue(torch.equal(out, self.ref["cutout"]))
        half = augcore.RandAugment()(self.images.to(torch.bfloat16), generator=gen())
        self.assertEqual(half.dtype, torch.bfloat16)

    def test_policies_run_from_several_threads_at_once(self):
        policy = augcore.RandAugment()
        images = torch.rand(64, 3, 32, 32, generator=gen(1))
        expected = [policy(images, generator=gen(i)) for i in range(4)]
        barrier = threading.Barrier(4)
        results = {}

        def work(i):
            barrier.wait()
            results[i] = policy(images, generator=gen(i))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(4):
            self.assertTrue(torch.equal(results[i], expected[i]))


class KeepParity(unittest.TestCase):
    def setUp(self):
        self.ref = Reference.load()
        self.images, self.labels = self.ref["images"], self.ref["labels"]
        self.net = small_net(self.ref)
        self.saliency = augcore.gradient_saliency(self.net, mean=0.4, std=0.3)

    def test_saliency_of_a_python_model_equals_the_library_and_autograd(self):
        self.assertTrue(torch.equal(self.saliency(self.images, self.labels), self.ref["saliency"]))
        self.assertTrue(torch.equal(self.saliency(self.images), self.ref["saliency_predicted"]))
        low_res = augcore.gradient_saliency(self.net, mean=[0.4], std=[0.3], method="low_res")
        self.assertTrue(torch.equal(low_res(self.images, self.labels), self.ref["saliency_low_res"]))
        # KeepAugment's definition, by hand: |d logit_y / d x| of the normalised input, max over
        # channels.
        x = ((self.images - 0.4) / 0.3).requires_grad_(True)
        self.net(x).gather(1, self.labels.view(-1, 1)).sum().backward()
        torch.testing.assert_close(self.saliency(self.images, self.labels),
                                   x.grad.abs().amax(1), rtol=1e-5, atol=1e-7)

    def test_saliency_restores_each_modules_mode_and_touches_no_parameter_gradient(self):
        self.net.train()
        self.net[0].eval()  # a frozen part keeps its eval mode
        with torch.no_grad():
            self.assertTrue(torch.equal(self.saliency(self.images, self.labels),
                                        self.ref["saliency"]))
        self.assertEqual([m.training for m in self.net.modules()],
                         [True, False, True, True, True, True])
        self.assertIsNone(self.net[0].weight.grad)
        self.net.eval()
        self.saliency(self.images, self.labels)
        self.assertFalse(any(m.training for m in self.net.modules()))

    def test_keep_policies_sharing_a_model_run_from_several_threads(self):
        self.net.train()
        policy = augcore.KeepCutout(6, self.saliency, quantile=0.5)
        barrier = threading.Barrier(4)
        results = {}

        def work(i):
            barrier.wait()
            results[i] = policy(self.images, self.labels, generator=gen())

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(torch.equal(r, self.ref["keep_cutout"]) for r in results.values()))
        self.assertEqual(len(results), 4)
        self.assertTrue(all(m.training for m in self.net.modules()))

    def test_keep_policies_equal_the_library(self):
        low_res = augcore.gradient_saliency(self.net, mean=0.4, std=0.3, method="low_res")
        cases = {
            "keep_cutout": augcore.KeepCutout(6, self.saliency, quantile=0.5),
            "keep_random_erasing": augcore.KeepRandomErasing(self.saliency, p=1.0,
                                                             mean_score=True),
            "keep_autoaugment": augcore.KeepAutoAugment(8, self.saliency, quantile=0.5),
            "keep_randaugment": augcore.KeepRandAugment(8, low_res, quantile=0.5),
        }
        for name, policy in cases.items():
            with self.subTest(policy=name):
                self.assertTrue(torch.equal(policy(self.images, self.labels, generator=gen()),
                                            self.ref[name]))
                draw = policy.sample(self.images, self.labels, gen())
                self.assertTrue(torch.equal(policy.apply(self.images, draw), self.ref[name]))
        images, targets = augcore.KeepCutMix(10, self.saliency, quantile=0.5)(
            self.images, self.labels, generator=gen())
        self.assertTrue(torch.equal(images, self.ref["keep_cutmix.images"]))
        self.assertTrue(torch.equal(targets, self.ref["keep_cutmix.targets"]))

    def test_a_callable_or_a_precomputed_map_serves_as_saliency(self):
        through_callable = augcore.KeepCutout(
            6, lambda pixels, targets: self.saliency(pixels, targets), quantile=0.5)
        self.assertTrue(torch.equal(through_callable(self.images, self.labels, generator=gen()),
                                    self.ref["keep_cutout"]))
        given = augcore.KeepCutout(5, quantile=0.5).sample(self.images, generator=gen(),
                                                           saliency=self.images.mean(1))
        boxes = torch.stack([given.y0, given.y1, given.x0, given.x1])
        self.assertTrue(torch.equal(boxes, self.ref["keep_cutout_given_map.boxes"]))

    def test_saliency_errors(self):
        with self.assertRaisesRegex(augcore.OptionError, r"^KeepCutout.saliency: no saliency"):
            augcore.KeepCutout(6)(self.images, self.labels)
        with self.assertRaisesRegex(augcore.OptionError, "gradient_saliency"):
            augcore.KeepCutout(6, self.net)
        with self.assertRaisesRegex(augcore.OptionError, r"KeepCutout.saliency: .*map"):
            augcore.KeepCutout(6, self.saliency).sample(self.images, self.labels,
                                                        saliency=torch.rand(6, 8, 8))

        def broken(pixels, targets):
            raise KeyError("from the callback")

        with self.assertRaisesRegex(KeyError, "from the callback"):
            augcore.KeepCutout(6, broken)(self.images, self.labels)
        with self.assertRaisesRegex(augcore.OptionError, "SaliencyOptions.method"):
            augcore.gradient_saliency(self.net, method="lowres")


class MaskSubParity(unittest.TestCase):
    def setUp(self):
        self.ref = Reference.load()
        self.images, self.labels = self.ref["images"], self.ref["labels"]

    def test_cnn_masksub_equals_the_library(self):
        for criterion in (None, F.cross_entropy):
            net = small_net(self.ref)
            out = augcore.MaskSub(criterion, ratio=0.5, cell=8)(net, self.images, self.labels,
                                                                 generator=gen())
            out.to_backward.backward()
            self.assertTrue(torch.equal(out.loss.detach(), self.ref["masksub.loss"]))
            self.assertTrue(torch.equal(out.main_loss, self.ref["masksub.main_loss"]))
            self.assertTrue(torch.equal(out.sub_loss, self.ref["masksub.sub_loss"]))
            self.assertTrue(torch.equal(net[0].weight.grad, self.ref["masksub.conv_grad"]))

    def test_timm_vit_sub_pass_drops_tokens(self):
        try:
            from timm.models.vision_transformer import VisionTransformer
        except ImportError:
            self.skipTest("timm is not installed")
        torch.manual_seed(0)
        vit = VisionTransformer(img_size=16, patch_size=4, in_chans=3, num_classes=10,
                                embed_dim=32, depth=2, num_heads=2).eval()
        seen = []
        vit.blocks[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
        out = augcore.MaskSub(ratio=0.5)(vit, self.images, self.labels, generator=gen())
        self.assertEqual(seen, [17, 9])  # CLS + 16 patches, then CLS + 8 kept
        # Keeping every token (in a random order) reproduces the main pass: the sub loss is then
        # the cross-entropy of the logits with their own softmax.
        out = augcore.MaskSub(ratio=0.0, weight_main=1.0, weight_sub=1.0)(
            vit, self.images, self.labels, generator=gen())
        logits = vit(self.images)
        torch.testing.assert_close(out.logits, logits)
        torch.testing.assert_close(out.sub_loss, F.cross_entropy(logits, logits.softmax(1)),
                                   rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out.main_loss, F.cross_entropy(logits, self.labels))


class MraParity(unittest.TestCase):
    def setUp(self):
        self.ref = Reference.load()
        self.gray = self.ref["mra.images"]
        self.dir = Reference.directory

    def test_mra_from_an_augcore_checkpoint_equals_the_library(self):
        mra = augcore.MRA.from_checkpoint(os.path.join(self.dir, "mae_augcore.pt"),
                                          attention="patches", mask_ratio=0.5, p=0.8)
        self.assertEqual(mra.patch_size, 4)
        self.assertTrue(torch.equal(mra(self.gray, gen()), self.ref["mra.patches"]))
        draw = mra.sample(self.gray, gen())
        self.assertTrue(torch.equal(mra.apply(self.gray, draw), self.ref["mra.patches"]))

    def test_an_official_mae_state_dict_loads_with_its_preset(self):
        path = os.path.join(self.dir, "mae_official.pth")
        with self.assertRaisesRegex(augcore.DataError, "preset="):
            augcore.MRA.from_checkpoint(path)
        mra = augcore.MRA.from_checkpoint(path, preset="mae_tiny_patch4_28", mode="random",
                                          mean=0.5, std=0.5)
        self.assertTrue(torch.equal(mra(self.gray, generator=gen()),
                                    self.ref["mra.official_random"]))

    def test_moving_the_module_moves_the_library_tensors(self):
        mra = augcore.MRA.from_checkpoint(os.path.join(self.dir, "mae_augcore.pt"))
        mra.double()
        self.assertTrue(all(t.dtype == torch.float64 for t in mra._augmentor.tensors()))
        out = mra(self.gray.double(), gen())
        self.assertEqual(out.dtype, torch.float64)

    def test_tensors_cross_without_copies(self):
        mra = augcore.MRA.from_checkpoint(os.path.join(self.dir, "mae_augcore.pt"), p=0.0)
        self.assertEqual(mra(self.gray, gen()).data_ptr(), self.gray.data_ptr())

    def test_bad_checkpoints_raise_data_errors(self):
        missing = os.path.join(self.dir, "missing.pt")
        with self.assertRaisesRegex(augcore.DataError, "missing.pt"):
            augcore.MRA.from_checkpoint(missing)
        corrupt = os.path.join(self.dir, "corrupt.pt")
        with open(os.path.join(self.dir, "mae_augcore.pt"), "rb") as f:
            data = f.read()
        with open(corrupt, "wb") as f:
            f.write(data[: len(data) // 2])
        with self.assertRaisesRegex(augcore.DataError, "corrupt.pt"):
            augcore.MRA.from_checkpoint(corrupt)
        with self.assertRaises(RuntimeError):  # a DataError is a RuntimeError too
            augcore.MRA.from_checkpoint(corrupt)
        with self.assertRaisesRegex(augcore.DataError, "does not fit"):
            augcore.MRA.from_checkpoint(os.path.join(self.dir, "mae_augcore.pt"),
                                        preset="mae_tiny_patch4_32")


class TimmDataPath(unittest.TestCase):
    """examples/python/timm_mixup_fn.py: augcore's policies where timm's train.py calls mixup_fn."""

    def setUp(self):
        import importlib.util
        path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python",
                            "timm_mixup_fn.py")
        spec = importlib.util.spec_from_file_location("timm_mixup_fn", path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.ref = Reference.load()

    def test_the_batch_function_round_trips_and_mixes(self):
        mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
        normalised = (self.ref["images"] - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(
            std).view(1, 3, 1, 1)
        identity = self.module.AugcoreBatchFn([], mean, std, num_classes=10)
        images, targets = identity(normalised, self.ref["labels"])
        torch.testing.assert_close(images, normalised)
        self.assertTrue(torch.equal(targets.argmax(1), self.ref["labels"]))
        net = small_net(self.ref)
        saliency = augcore.gradient_saliency(net, mean=mean, std=std)
        batch_fn = self.module.AugcoreBatchFn(
            [augcore.RandAugment(), augcore.KeepCutMix(10, saliency)], mean, std,
            num_classes=10, generator=gen())
        images, targets = batch_fn(normalised, self.ref["labels"])
        # By hand: pixels, RandAugment, KeepCutMix from one generator, normalised again.
        m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
        g = gen()
        pixels = augcore.RandAugment()((normalised * s + m).clamp(0, 1), generator=g)
        pixels, expected_targets = augcore.KeepCutMix(10, saliency)(pixels, self.ref["labels"],
                                                                    generator=g)
        self.assertTrue(torch.equal(images, (pixels - m) / s))
        self.assertTrue(torch.equal(targets, expected_targets))


class Errors(unittest.TestCase):
    def test_options_and_inputs(self):
        with self.assertRaises(ValueError) as caught:
            augcore.Cutout(0)
        error = caught.exception
        self.assertIsInstance(error, augcore.OptionError)
        self.assertEqual(str(error), "CutoutOptions.length: 0 is below 1")
        self.assertEqual((error.option, error.category), ("length", "config error"))
        with self.assertRaisesRegex(augcore.OptionError, r"^Cutout.images: expected N×C×H×W"):
            augcore.Cutout(4)(torch.rand(3, 8, 8))
        with self.assertRaisesRegex(augcore.OptionError, r"^Cutout.generator: expected"):
            augcore.Cutout(4)(torch.rand(2, 3, 8, 8), generator=1)
        with self.assertRaisesRegex(augcore.OptionError, r"RandomErasingOptions.mode: 'noise'"):
            augcore.RandomErasing(mode="noise")
        with self.assertRaisesRegex(augcore.OptionError, r"^RandomErasingOptions.p"):
            augcore.RandomErasing(p=1.5)
        with self.assertRaisesRegex(augcore.OptionError, r"fill"):
            augcore.Cutout(4, fill=[0.1, 0.2])(torch.rand(2, 3, 8, 8))
        with self.assertRaisesRegex(augcore.OptionError, r"Mixup.targets"):
            augcore.Mixup(10)(torch.rand(2, 3, 8, 8), torch.zeros(3, dtype=torch.long))
        with self.assertRaisesRegex(augcore.OptionError, r"MaskSubOptions.variant"):
            augcore.MaskSub(variant="masked")


class Cuda(unittest.TestCase):
    """The equality tests on CUDA tensors: the same generator seed gives the CPU's result."""

    def setUp(self):
        if not torch.cuda.is_available():
            self.skipTest("no CUDA device")
        self.ref = Reference.load()
        self.images, self.labels = self.ref["images"], self.ref["labels"]

    def test_policies_on_cuda_equal_the_cpu_library(self):
        cuda = self.images.cuda()
        for name in ("cutout", "cutout_max_fraction", "random_erasing"):
            out = image_policies()[name](cuda, generator=gen())
            self.assertTrue(out.is_cuda)
            self.assertTrue(torch.equal(out.cpu(), self.ref[name]))
        for name, policy in mixing_policies().items():
            images, targets = policy(cuda, self.labels.cuda(), generator=gen())
            torch.testing.assert_close(images.cpu(), self.ref[name + ".images"])
            torch.testing.assert_close(targets.cpu(), self.ref[name + ".targets"])
        with self.assertRaisesRegex(augcore.OptionError, "CPU generator"):
            augcore.Cutout(4)(cuda, generator=torch.Generator(device="cuda"))

    def test_mra_moves_to_cuda(self):
        mra = augcore.MRA.from_checkpoint(os.path.join(Reference.directory, "mae_augcore.pt"),
                                          attention="patches", mask_ratio=0.5, p=0.8).cuda()
        out = mra(self.ref["mra.images"].cuda(), gen())
        torch.testing.assert_close(out.cpu(), self.ref["mra.patches"], rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if "--cuda" in sys.argv:
        sys.argv.remove("--cuda")
        if not torch.cuda.is_available():
            print("test_bindings: no CUDA device: skipped")
            sys.exit(77)
        unittest.main(defaultTest="Cuda")
    unittest.main()
