// Torch headers precompiled once per target; keep it to headers that are slow to parse.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/TensorOptions.h>
