#ifndef N2_FUZZ_H
#define N2_FUZZ_H
#include <setjmp.h>
extern sigjmp_buf fuzz_jmp;
extern int	fuzz_errors;
extern void fuzz_reset(void);
#endif
