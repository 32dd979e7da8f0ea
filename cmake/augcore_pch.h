// Torch headers precompiled once per target; keep it to headers that are slow to parse.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn.h>
#include <torch/optim.h>
