/*
 * The C runtime test of Corten's guest runtime: ordinary C, compiled as
 * Debian compiles its libraries (glibc headers, -O2, -D_FORTIFY_SOURCE=2,
 * -fstack-protector-strong), built twice: natively against glibc and into
 * a unikernel against corten-rt's `libc` feature. The test suite runs both
 * and requires the same output and exit status (see crates of the apps'
 * tests), so every line below is checked against glibc itself.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int test_printf(void)
{
    long double ld = 2.5L;
    char buf[64];
    int n;

    printf("ints: %d %i %u %x %X %o %c %%\n", -42, 7, 4000000000u, 0xbeef, 0xbeef, 8, 'Z');
    printf("widths: [%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%*d] [%-*d]\n",
           42, 42, 42, 42, 42, 7, 6, 1, 4, 2);
    printf("lengths: %hhd %hd %ld %lld %zu %jd %llx %lu\n", (signed char)-1, (short)-2,
           -3L, -4LL, (size_t)5, (intmax_t)-6, 0x123456789abcdefULL, 18446744073709551615UL);
    printf("alt: %#x %#o %#X %#.3g %#.0f %#.0e\n", 255, 8, 255, 1.0, 2.0, 3.0);
    printf("floats: %f %.2f %10.3f %-10.1f| %e %.3E %g %G %.10g %g %g\n", 3.14159265358979,
           -2.5, 1.0 / 3.0, 99.95, 12345.678, 0.000123, 0.0001, 1e20, 2.0 / 3.0, 100000.0,
           1000000.0);
    printf("specials: %f %e %g %F %+.1f %5.0f|\n", 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0 * -1.0,
           1.0 / 0.0, -0.0, 0.5);
    printf("long double: %Lf %.3Le %Lg\n", ld, ld * 1000, ld / 3);
    printf("strings: [%s] [%.3s] [%8s] [%-8s] [%s]\n", "hello", "hello", "hi", "hi", "");
    printf("pointer: %p %p\n", (void *)0x1234, (void *)0);
    /* More arguments than registers: integers and doubles from the stack. */
    printf("many: %d %d %d %d %d %d %d %d %d %d | %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n",
           1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5);
    printf("mixed: %d %.2f %s %d %.2f %s %d %.2f %s %ld\n", 1, 0.25, "a", 2, 0.5, "b", 3, 0.75,
           "c", 4L);

    n = snprintf(buf, sizeof buf, "%s-%d-%.2f", "abc", 123, 4.567);
    printf("snprintf: %d [%s]\n", n, buf);
    n = snprintf(buf, 6, "%s", "truncated text");
    printf("truncated: %d [%s]\n", n, buf);
    n = snprintf(NULL, 0, "%d", 123456);
    printf("measure only: %d\n", n);
    n = sprintf(buf, "%05.1f|%x", 3.14159, 48879);
    printf("sprintf: %d [%s]\n", n, buf);

    puts("puts line");
    fputs("fputs line\n", stdout);
    fwrite("fwrite line\n", 1, 12, stdout);
    putchar('p');
    putchar('\n');
    fprintf(stdout, "fprintf to stdout %d\n", 1);
    fflush(stdout);
    fprintf(stderr, "fprintf to stderr %d\n", 2);
    return 0;
}

static unsigned long checksum(const unsigned char *p, size_t n)
{
    unsigned long h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + p[i];
    return h;
}

static int test_malloc(void)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 2048, 2049, 4096, 70000, 1 << 20};
    void *blocks[sizeof sizes / sizeof sizes[0]];
    unsigned long total = 0;

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = malloc(sizes[i]);
        if (p == NULL && sizes[i] != 0) {
            printf("malloc(%zu) failed\n", sizes[i]);
            return 1;
        }
        if (((uintptr_t)p & 15) != 0) {
            printf("malloc(%zu) is not 16-byte aligned\n", sizes[i]);
            return 1;
        }
        for (size_t k = 0; k < sizes[i]; k++)
            p[k] = (unsigned char)(k * 7 + i);
        blocks[i] = p;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        total += checksum(blocks[i], sizes[i]);
        free(blocks[i]);
    }
    printf("malloc checksum %lu\n", total);

    unsigned char *r = malloc(10);
    memcpy(r, "0123456789", 10);
    r = realloc(r, 100000);
    r[99999] = 'x';
    r = realloc(r, 5);
    printf("realloc keeps [%.5s]\n", (char *)r);
    free(r);

    unsigned char *z = calloc(1000, 8);
    size_t nonzero = 0;
    for (size_t i = 0; i < 8000; i++)
        nonzero += z[i] != 0;
    printf("calloc nonzero bytes %zu\n", nonzero);
    free(z);

    for (size_t a = 16; a <= 4096; a *= 4) {
        void *p = NULL;
        int e = posix_memalign(&p, a, 100);
        printf("posix_memalign(%zu) = %d aligned %d\n", a, e, ((uintptr_t)p % a) == 0);
        free(p);
    }
    void *q = NULL;
    printf("posix_memalign(3) = %d\n", posix_memalign(&q, 3, 10));
    printf("aligned_alloc(64) aligned %d\n", ((uintptr_t)(q = aligned_alloc(64, 128)) % 64) == 0);
    free(q);
    errno = 0;
    void *huge = malloc((size_t)-1 / 2);
    printf("huge malloc %s errno %s\n", huge ? "succeeded" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    free(NULL);

    char *d = strdup("duplicate");
    char *dn = strndup("abcdef", 3);
    char cat[32];
    strcpy(cat, "con");
    strcat(cat, "cat");
    char pad[8];
    strncpy(pad, "ab", sizeof pad);
    printf("strings: %s %s %s %zu %zu %d\n", d, dn, cat, strlen(d), strnlen("abc", 2), pad[7]);
    printf("compare: %d %d %d %d %d\n", strcmp("abc", "abd") < 0, strcmp("b", "a") > 0,
           strncmp("abcx", "abcy", 3), strcasecmp("HeLLo", "hello"), strncasecmp("ABx", "aby", 2));
    const char *hay = "needle in a haystack";
    printf("search: [%s] [%s] [%s] [%s] %d\n", strstr(hay, "hay"), strchr(hay, 'i'),
           strrchr(hay, 'a'), (char *)memchr(hay, 'y', 20), strstr(hay, "nope") == NULL);
    free(d);
    free(dn);
    return 0;
}

/* The canary C code reads: %fs:0x28 must be a block with a random guard. */
static int test_canary(void)
{
    unsigned long c;
    __asm__ volatile("mov %%fs:0x28, %0" : "=r"(c));
    printf("canary nonzero %d low byte zero %d\n", c != 0, (c & 0xff) == 0);
    return 0;
}

__attribute__((noinline)) static void overflow(volatile unsigned char *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = 0x41;
}

/* A stack buffer overflow the stack protector must catch. */
__attribute__((noinline)) static int test_smash(int n)
{
    unsigned char buf[16];
    overflow(buf, n);
    printf("not caught: %d\n", buf[3]);
    return 0;
}

static void first(void) { puts("atexit: registered first, runs last"); }
static void second(void) { puts("atexit: registered second, runs first"); }

static int test_exit(void)
{
    atexit(first);
    atexit(second);
    printf("exiting with 3 (buffered, no newline)");
    exit(3);
}

/* Run by the C start-up (glibc) or the runtime (Corten) before main. */
static int constructed;
__attribute__((constructor)) static void construct(void) { constructed = 42; }
__attribute__((destructor)) static void destruct(void) { puts("destructor ran at exit"); }

static int test_stdlib(void)
{
    static const char *inputs[] = {"42", "  -17xyz", "0x1F", "017", "+9", "zz", "",
                                   "99999999999999999999", "-99999999999999999999", "0x", "  +0x7fz"};
    static const int bases[] = {10, 0, 16, 36};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            char *end;
            errno = 0;
            long v = strtol(inputs[i], &end, bases[b]);
            int e1 = errno;
            errno = 0;
            unsigned long u = strtoul(inputs[i], NULL, bases[b]);
            printf("strtol(\"%s\", %d) = %ld end+%d errno %d; strtoul = %lu errno %d\n", inputs[i],
                   bases[b], v, (int)(end - inputs[i]), e1 == ERANGE, u, errno == ERANGE);
        }
    }
    printf("atoi %d atol %ld\n", atoi(" 123abc"), atol("-456"));
    printf("constructor ran: %d\n", constructed);

    unsigned char *m = mmap(NULL, 100000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t nonzero = 0;
    for (size_t i = 0; m != MAP_FAILED && i < 100000; i++)
        nonzero += m[i] != 0;
    printf("mmap %s aligned %d nonzero %zu\n", m == MAP_FAILED ? "failed" : "ok",
           ((uintptr_t)m & 4095) == 0, nonzero);
    if (m != MAP_FAILED) {
        m[99999] = 1;
        printf("munmap %d\n", munmap(m, 100000));
    }
    fflush(stdout);
    errno = ENOMEM;
    perror("perror says");
    return 0;
}

int corten_c_main(const char *which)
{
    if (strcmp(which, "stdlib") == 0)
        return test_stdlib();
    if (strcmp(which, "printf") == 0)
        return test_printf();
    if (strcmp(which, "malloc") == 0)
        return test_malloc();
    if (strcmp(which, "canary") == 0)
        return test_canary();
    if (strcmp(which, "canary-value") == 0) {
        unsigned long c;
        __asm__ volatile("mov %%fs:0x28, %0" : "=r"(c));
        printf("%lx\n", c);
        return 0;
    }
    if (strcmp(which, "smash") == 0)
        return test_smash(64);
    if (strcmp(which, "exit") == 0)
        return test_exit();
    if (strcmp(which, "assert") == 0) {
        assert(which[0] == 'x');
        return 0;
    }
    if (strcmp(which, "fortify") == 0) {
        char small[4];
        volatile int len = 10;
        /* _FORTIFY_SOURCE turns this into __snprintf_chk(small, 10, ..., 4, ...). */
        snprintf(small, len, "%s", "overflowing");
        printf("not caught: %s\n", small);
        return 0;
    }
    fprintf(stderr, "unknown case '%s' (printf malloc stdlib canary canary-value smash exit assert fortify)\n", which);
    return 2;
}
