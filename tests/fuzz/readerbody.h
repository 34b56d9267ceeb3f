/* What the reader targets do with an opened checkpoint (readerbody.c). */
#pragma once
#include "fuzzutil.h"
#include <specdyn/reader.h>

/* Open `path` with a new reader (type forced when `type` is non-NULL), then go through
   everything a user file reaches: the listing (SpdReaderView), name lookups, the model
   config, SpdMLPResolve (architecture from the tensors / model_config), and reads of the
   first small tensors (whole, and an interior sub-block) when `readblocks`. Errors are
   captured. */
void SpdFuzzReaderRun(const char path[], SpdReaderType type, PetscBool readblocks);
