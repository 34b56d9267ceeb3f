/* Element types of checkpoint tensors and their exact conversion to double.

   F16 (IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits) and BF16 (bfloat16: the
   upper half of a binary32, 1 sign, 8 exponent, 7 fraction bits) are widened by moving
   their bit fields into a binary64: every finite value, subnormals included, is exactly
   representable, infinities stay infinities and NaNs keep their sign and payload
   (shifted to the top of the binary64 fraction, as NumPy's half->double does). */
#include <specdyn/private/readerimpl.h>

const char *const SpdDTypes[] = { "UNKNOWN", "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64", NULL };

/*@C
  SpdDTypeSize - bytes of one element of a dtype (0 for SPD_DTYPE_UNKNOWN)

  Not Collective

.seealso: `SpdDTypeIsFloat()`, `SpdConvertToDouble()`
@*/
size_t SpdDTypeSize(SpdDType t)
{
  switch (t) {
  case SPD_DTYPE_F64:
  case SPD_DTYPE_I64:
  case SPD_DTYPE_U64:
    return 8;
  case SPD_DTYPE_F32:
  case SPD_DTYPE_I32:
  case SPD_DTYPE_U32:
    return 4;
  case SPD_DTYPE_F16:
  case SPD_DTYPE_BF16:
  case SPD_DTYPE_I16:
  case SPD_DTYPE_U16:
    return 2;
  case SPD_DTYPE_I8:
  case SPD_DTYPE_U8:
  case SPD_DTYPE_BOOL:
    return 1;
  default:
    return 0;
  }
}

/*@C
  SpdDTypeIsFloat - whether a dtype is a floating-point type (F64, F32, F16, BF16)

  Not Collective
@*/
PetscBool SpdDTypeIsFloat(SpdDType t)
{
  return (t == SPD_DTYPE_F64 || t == SPD_DTYPE_F32 || t == SPD_DTYPE_F16 || t == SPD_DTYPE_BF16) ? PETSC_TRUE : PETSC_FALSE;
}

/* Look a safetensors dtype name up ("F32", ...); SPD_DTYPE_UNKNOWN if it is not one we read. */
SpdDType SpdDTypeFromString_Private(const char name[])
{
  for (int i = 1; SpdDTypes[i]; i++)
    if (!strcmp(SpdDTypes[i], name)) return (SpdDType)i;
  return SPD_DTYPE_UNKNOWN;
}

static inline double BitsToDouble(uint64_t u)
{
  double d;

  memcpy(&d, &u, sizeof(d));
  return d;
}

/*@C
  SpdF16ToDouble - exact value of an IEEE binary16 bit pattern

  Not Collective

  Notes:
  Subnormals (exponent field 0) are fraction * 2^-24; infinities and NaNs (exponent field
  31) map to binary64 infinities and NaNs with the same sign and the payload shifted left
  by 42 bits.

.seealso: `SpdBF16ToDouble()`, `SpdConvertToDouble()`
@*/
double SpdF16ToDouble(uint16_t h)
{
  uint64_t sign = (uint64_t)(h >> 15) << 63;
  unsigned e    = (h >> 10) & 0x1f;
  uint64_t m    = h & 0x3ff;

  if (e == 0x1f) return BitsToDouble(sign | 0x7ff0000000000000ULL | (m << 42));
  if (e == 0) {
    /* subnormal or zero: m * 2^-24, exact in binary64 */
    double v = ldexp((double)m, -24);
    return sign ? -v : v;
  }
  return BitsToDouble(sign | ((uint64_t)(e - 15 + 1023) << 52) | (m << 42));
}

/*@C
  SpdBF16ToDouble - exact value of a bfloat16 bit pattern

  Not Collective

  Notes:
  bfloat16 is the upper 16 bits of a binary32, so the value equals the binary32 whose bits
  are h << 16, converted to binary64 (exact). Subnormals are fraction * 2^-133.

.seealso: `SpdF16ToDouble()`, `SpdConvertToDouble()`
@*/
double SpdBF16ToDouble(uint16_t h)
{
  /* the binary32 with bits h << 16, widened: exact for every pattern (subnormals become
     normal binary64 numbers, infinities stay, NaNs stay NaN with their sign), no branch */
  uint32_t u = (uint32_t)h << 16;
  float    f;

  memcpy(&f, &u, sizeof(f));
  return (double)f;
}

/*@C
  SpdConvertToDouble - convert `count` little-endian elements of a dtype to double

  Not Collective

  Input Parameters:
+ t     - the dtype of src
. src   - the raw elements (native byte order: specdyn runs on little-endian hosts)
- count - number of elements

  Output Parameter:
. dst - count doubles

  Notes:
  Floating types convert exactly. I64/U64 values beyond 2^53 round to the nearest double;
  BOOL is 0 or 1 (any nonzero byte is 1).

.seealso: `SpdDTypeSize()`, `SpdF16ToDouble()`, `SpdBF16ToDouble()`
@*/
PetscErrorCode SpdConvertToDouble(SpdDType t, const void *src, size_t count, double dst[])
{
  PetscFunctionBegin;
  if (!count) PetscFunctionReturn(0);
  PetscValidPointer(src, 2);
  PetscValidRealPointer(dst, 4);
#define SPD_CONVERT(ctype)                                    \
  do {                                                        \
    const ctype *s = (const ctype *)src;                      \
    for (size_t i = 0; i < count; i++) dst[i] = (double)s[i]; \
  } while (0)
  switch (t) {
  case SPD_DTYPE_F64:
    if ((const void *)dst != src) memmove(dst, src, count * sizeof(double));
    break;
  case SPD_DTYPE_F32:
    SPD_CONVERT(float);
    break;
  case SPD_DTYPE_F16: {
    const uint16_t *s = (const uint16_t *)src;
    for (size_t i = 0; i < count; i++) dst[i] = SpdF16ToDouble(s[i]);
  } break;
  case SPD_DTYPE_BF16: {
    const uint16_t *s = (const uint16_t *)src;
    for (size_t i = 0; i < count; i++) dst[i] = SpdBF16ToDouble(s[i]);
  } break;
  case SPD_DTYPE_I64:
    SPD_CONVERT(int64_t);
    break;
  case SPD_DTYPE_I32:
    SPD_CONVERT(int32_t);
    break;
  case SPD_DTYPE_I16:
    SPD_CONVERT(int16_t);
    break;
  case SPD_DTYPE_I8:
    SPD_CONVERT(int8_t);
    break;
  case SPD_DTYPE_U8:
    SPD_CONVERT(uint8_t);
    break;
  case SPD_DTYPE_U16:
    SPD_CONVERT(uint16_t);
    break;
  case SPD_DTYPE_U32:
    SPD_CONVERT(uint32_t);
    break;
  case SPD_DTYPE_U64:
    SPD_CONVERT(uint64_t);
    break;
  case SPD_DTYPE_BOOL: {
    const uint8_t *s = (const uint8_t *)src;
    for (size_t i = 0; i < count; i++) dst[i] = s[i] ? 1.0 : 0.0;
  } break;
  default:
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Cannot convert dtype %d to double: not a numeric dtype specdyn knows", (int)t);
  }
#undef SPD_CONVERT
  PetscFunctionReturn(0);
}
