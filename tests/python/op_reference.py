"""torchvision's tensor implementations of the AutoAugment-family ops, image by image, for
augcore's batched-op parity test.

  op_reference.py OUT     saves {"images", "<op>_m" (per-image magnitudes), "<op>" (results)}
  op_reference.py tables  prints the AutoAugment policies: "policy op probability level"
"""
import math
import sys

import torch
import torchvision.transforms.functional as F
from torchvision.transforms import AutoAugment, AutoAugmentPolicy, InterpolationMode

FILL = [0.1, 0.5, 0.9]


def tables():
    for name, policy in (("imagenet", AutoAugmentPolicy.IMAGENET),
                         ("cifar10", AutoAugmentPolicy.CIFAR10)):
        for sub in AutoAugment(policy)._get_policies(policy):
            for op, prob, level in sub:
                print(name, op, prob, -1 if level is None else level)


def main(out):
    g = torch.Generator().manual_seed(7)
    u8 = torch.randint(0, 256, (4, 3, 20, 24), generator=g, dtype=torch.uint8)
    # Smooth structure plus noise, so geometric ops move recognisable content.
    ramp = torch.linspace(0, 255, 24).view(1, 1, 1, 24).expand(4, 3, 20, 24)
    u8 = ((u8.float() * 0.3 + ramp * 0.7)).round().clamp(0, 255).to(torch.uint8)
    images = u8.float() / 255
    res = {"images": images}

    def per_image(name, magnitudes, fn, source=images, scale=1.0):
        res[name + "_m"] = torch.tensor(magnitudes, dtype=torch.float64)
        res[name] = torch.stack([fn(source[i], m).float() / scale for i, m in enumerate(magnitudes)])

    for interp, tag in ((InterpolationMode.NEAREST, "nearest"),
                        (InterpolationMode.BILINEAR, "bilinear")):
        per_image("ShearX_" + tag, [0.3, -0.2, 0.1, 0.0], lambda img, m: F.affine(
            img, angle=0.0, translate=[0, 0], scale=1.0, shear=[math.degrees(math.atan(m)), 0.0],
            interpolation=interp, fill=FILL, center=[0, 0]))
        per_image("ShearY_" + tag, [0.3, -0.2, 0.1, 0.0], lambda img, m: F.affine(
            img, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, math.degrees(math.atan(m))],
            interpolation=interp, fill=FILL, center=[0, 0]))
        per_image("TranslateX_" + tag, [5.7, -3.2, 0.0, 10.0], lambda img, m: F.affine(
            img, angle=0.0, translate=[int(m), 0], scale=1.0, shear=[0.0, 0.0],
            interpolation=interp, fill=FILL))
        per_image("TranslateY_" + tag, [5.7, -3.2, 0.0, 10.0], lambda img, m: F.affine(
            img, angle=0.0, translate=[0, int(m)], scale=1.0, shear=[0.0, 0.0],
            interpolation=interp, fill=FILL))
        per_image("Rotate_" + tag, [30.0, -17.5, 90.0, 0.0],
                  lambda img, m: F.rotate(img, m, interpolation=interp, fill=FILL))

    factors = [1.5, 0.3, 1.0, 1.9]
    per_image("Brightness", factors, F.adjust_brightness)
    per_image("Color", factors, F.adjust_saturation)
    per_image("Contrast", factors, F.adjust_contrast)
    per_image("Sharpness", factors, F.adjust_sharpness)
    per_image("Posterize", [1, 4, 6, 8], lambda img, m: F.posterize(img, int(m)), u8, 255.0)
    per_image("Solarize", [0.2, 0.5, 0.8, 1.0], F.solarize)
    per_image("AutoContrast", [0, 0, 0, 0], lambda img, m: F.autocontrast(img))
    per_image("Equalize", [0, 0, 0, 0], lambda img, m: F.equalize(img), u8, 255.0)
    per_image("Invert", [0, 0, 0, 0], lambda img, m: F.invert(img))
    per_image("Grayscale", [0, 0, 0, 0], lambda img, m: F.rgb_to_grayscale(img, 3))
    per_image("Blur", [0.1, 0.7, 1.3, 2.0], lambda img, m: F.gaussian_blur(
        img, [2 * math.ceil(3 * m) + 1] * 2, [m, m]))
    # 3-Augment with a given draw: the chosen op, then the jitter ops in the drawn order.
    choice, sigma = [0, 1, 2, 2], [0.5, 1.0, 0.3, 1.9]
    jf = [[0.8, 1.2, 0.9], [1.25, 0.75, 1.1], [1.0, 1.3, 0.7], [0.72, 0.95, 1.28]]
    order = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]]
    jitter = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation]
    three = []
    for i in range(4):
        img = [lambda x: F.rgb_to_grayscale(x, 3), lambda x: F.solarize(x, 128 / 255),
               lambda x: F.gaussian_blur(x, [2 * math.ceil(3 * sigma[i]) + 1] * 2,
                                         [sigma[i]] * 2)][choice[i]](images[i])
        for op in order[i]:
            img = jitter[op](img, jf[i][op])
        three.append(img)
    res["ThreeAugment"] = torch.stack(three)
    res["ThreeAugment_choice"] = torch.tensor(choice)
    res["ThreeAugment_sigma"] = torch.tensor(sigma, dtype=torch.float64)
    res["ThreeAugment_factors"] = torch.tensor(jf, dtype=torch.float64)
    res["ThreeAugment_order"] = torch.tensor(order)
    grey = images[:, :1]
    res["grey"] = grey
    per_image("Contrast_grey", factors, F.adjust_contrast, grey)
    torch.save(res, out)


if __name__ == "__main__":
    if sys.argv[1] == "tables":
        tables()
    else:
        main(sys.argv[1])
