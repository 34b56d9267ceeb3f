/* Source layer: exact F16/BF16 -> double conversion and the dtype table.

   usage: source_dtype DATADIR

   f16_all.bin and bf16_all.bin (written by gen_checkpoints.py) hold NumPy's float64 value
   of each of the 65536 bit patterns: float16 -> float64, and bfloat16 as the float32 with
   bits h << 16 -> float64. Every non-NaN pattern must match bit for bit (subnormals,
   signed zeros, infinities included); NaN patterns must give NaN of the same sign.
   Integer conversions are checked against values written out by hand. */
#include <specdyn/reader.h>
#include <stdio.h>

static const char help[] = "Checks SpdF16ToDouble/SpdBF16ToDouble on all 65536 patterns against NumPy.\n";

static PetscErrorCode CheckAll(const char dir[], const char file[], double (*conv)(uint16_t), const char what[])
{
  char     path[PETSC_MAX_PATH_LEN];
  double  *ref;
  FILE    *fp;
  PetscInt bad = 0;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, file));
  PetscCall(PetscMalloc1(65536, &ref));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (run the source_gen test first)", path);
  PetscCheck(fread(ref, sizeof(double), 65536, fp) == 65536, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is short", path);
  fclose(fp);
  for (unsigned h = 0; h < 65536; h++) {
    double got = conv((uint16_t)h), want = ref[h];
    int    ok = isnan(want) ? (isnan(got) && signbit(got) == signbit(want)) : !memcmp(&got, &want, sizeof(double));
    if (!ok) {
      if (bad < 10) PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s(0x%04x) = %.17g, NumPy gives %.17g\n", what, h, got, want));
      bad++;
    }
  }
  PetscCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " of 65536 patterns differ from NumPy", what, bad);
  PetscCall(PetscFree(ref));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: %s DATADIR", argv[0]);
  PetscCall(CheckAll(argv[1], "f16_all.bin", SpdF16ToDouble, "SpdF16ToDouble"));
  PetscCall(CheckAll(argv[1], "bf16_all.bin", SpdBF16ToDouble, "SpdBF16ToDouble"));

  /* closed forms: smallest subnormals, largest finite values, one */
  PetscCheck(SpdF16ToDouble(0x0001) == ldexp(1.0, -24), PETSC_COMM_SELF, PETSC_ERR_PLIB, "F16 smallest subnormal");
  PetscCheck(SpdF16ToDouble(0x7bff) == 65504.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "F16 max");
  PetscCheck(SpdF16ToDouble(0x3c00) == 1.0 && SpdF16ToDouble(0xc000) == -2.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "F16 1, -2");
  PetscCheck(SpdBF16ToDouble(0x0001) == ldexp(1.0, -133), PETSC_COMM_SELF, PETSC_ERR_PLIB, "BF16 smallest subnormal");
  PetscCheck(SpdBF16ToDouble(0x3f80) == 1.0 && isinf(SpdBF16ToDouble(0xff80)) && SpdBF16ToDouble(0xff80) < 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "BF16 1, -inf");
  PetscCheck(signbit(SpdF16ToDouble(0x8000)) && SpdF16ToDouble(0x8000) == 0.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "F16 -0");

  /* sizes and names */
  {
    const char  *names[] = { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64" };
    const size_t sizes[] = { 8, 4, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8 };
    for (int i = 0; i < 13; i++) {
      SpdDType t = (SpdDType)(i + 1);
      PetscCheck(!strcmp(SpdDTypes[t], names[i]), PETSC_COMM_SELF, PETSC_ERR_PLIB, "SpdDTypes[%d] = %s, expected %s", i + 1, SpdDTypes[t], names[i]);
      PetscCheck(SpdDTypeSize(t) == sizes[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "size of %s", names[i]);
      PetscCheck(SpdDTypeIsFloat(t) == (i < 4 ? PETSC_TRUE : PETSC_FALSE), PETSC_COMM_SELF, PETSC_ERR_PLIB, "IsFloat(%s)", names[i]);
    }
    PetscCheck(SpdDTypeSize(SPD_DTYPE_UNKNOWN) == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "size of UNKNOWN");
  }

  /* integer and bool conversions: hand-written values */
  {
    const int64_t  i64[3] = { -9007199254740992LL, 0, 123456789012LL };
    const int32_t  i32[3] = { INT32_MIN, -1, INT32_MAX };
    const int16_t  i16[3] = { -32768, 7, 32767 };
    const int8_t   i8[3]  = { -128, 0, 127 };
    const uint8_t  u8[3] = { 0, 128, 255 }, b[3] = { 0, 1, 7 };
    const uint16_t u16[3] = { 0, 1, 65535 };
    const uint32_t u32[3] = { 0, 1, 4294967295U };
    const uint64_t u64[3] = { 0, 1, 9007199254740992ULL };
    const float    f32[3] = { 0.1f, -3.5f, 1e-45f };
    double         d[3];

#define EXPECT(T, src, a, b_, c)                                                                                                                                     \
  do {                                                                                                                                                               \
    PetscCall(SpdConvertToDouble(T, src, 3, d));                                                                                                                     \
    PetscCheck(d[0] == (a) && d[1] == (b_) && d[2] == (c), PETSC_COMM_SELF, PETSC_ERR_PLIB, "SpdConvertToDouble(%s) gave %g %g %g", SpdDTypes[T], d[0], d[1], d[2]); \
  } while (0)
    EXPECT(SPD_DTYPE_I64, i64, -9007199254740992.0, 0.0, 123456789012.0);
    EXPECT(SPD_DTYPE_I32, i32, -2147483648.0, -1.0, 2147483647.0);
    EXPECT(SPD_DTYPE_I16, i16, -32768.0, 7.0, 32767.0);
    EXPECT(SPD_DTYPE_I8, i8, -128.0, 0.0, 127.0);
    EXPECT(SPD_DTYPE_U8, u8, 0.0, 128.0, 255.0);
    EXPECT(SPD_DTYPE_BOOL, b, 0.0, 1.0, 1.0);
    EXPECT(SPD_DTYPE_U16, u16, 0.0, 1.0, 65535.0);
    EXPECT(SPD_DTYPE_U32, u32, 0.0, 1.0, 4294967295.0);
    EXPECT(SPD_DTYPE_U64, u64, 0.0, 1.0, 9007199254740992.0);
    /* float32 values widened exactly: 0.1f is 13421773 * 2^-27, 1e-45f the smallest subnormal 2^-149 */
    EXPECT(SPD_DTYPE_F32, f32, 13421773.0 * ldexp(1.0, -27), -3.5, ldexp(1.0, -149));
#undef EXPECT
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "source_dtype: F16 and BF16 conversions equal NumPy on all 65536 patterns; integer conversions exact\n"));
  PetscCall(PetscFinalize());
  return 0;
}
