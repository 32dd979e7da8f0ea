// The inputs the benchmark suite generates for itself: a JPEG ImageFolder, CIFAR-10 binary
// files and randomly initialised MAE augmentors (timings do not depend on trained weights).
#pragma once

#include <string>

namespace augcore::bench {

// `classes` folders of `per_class` 500×375 JPEGs (quality 90) of smooth random scenes with
// fine texture, about the size of an average ImageNet photo. Kept when already there.
void make_jpeg_folder(const std::string& root, int classes, int per_class);

// CIFAR-10's binary layout (data_batch_1..5.bin and test_batch.bin of `per_file` records):
// a 32×32 Fashion-MNIST image in three colours per record, so the pixels are real images.
void make_cifar_binary(const std::string& root, const std::string& idx_root, int per_file);

// A torch.save state dict of MAE preset `preset` with its initial weights.
void make_mae_checkpoint(const std::string& path, const std::string& preset, int in_chans);

}  // namespace augcore::bench
