// Reading and writing PyTorch's torch.save files (zip archive + pickle) without Python.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

namespace augcore::pth {

// Reads a torch.save file into IValues: dicts and OrderedDicts become GenericDicts (keys as
// written: strings or ints), lists and tuples become lists and tuples, tensors are CPU
// tensors with their saved dtype, shape and strides. Objects of other classes (for example
// argparse.Namespace or numpy scalars in training checkpoints) load as None. Throws DataError
// naming the file and the problem when it is not a readable torch.save archive.
c10::IValue load(const std::string& path);
c10::IValue load_bytes(const std::vector<char>& bytes, const std::string& name);

// Serialises dicts (string or int keys), lists, tuples, tensors (copied to contiguous CPU),
// ints, doubles, bools, strings and None so that Python's torch.load returns the same
// structure.
std::vector<char> save_bytes(const c10::IValue& value);
// save_bytes written atomically (temporary file, flush, rename). Throws DataError.
void save(const c10::IValue& value, const std::string& path);

// A GenericDict that accepts string and int keys, in insertion order.
c10::impl::GenericDict new_dict();

}  // namespace augcore::pth
