/* RECUR_VERBOSE: silent by default, one line per call at 1, the setup line at 2. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "recur.h"

/* Runs one forward call with RECUR_VERBOSE = level (NULL: unset) and returns what the
 * library wrote to stderr (malloc'd). */
static char *run_with(const char *level)
{
    if (level)
        setenv("RECUR_VERBOSE", level, 1);
    else
        unsetenv("RECUR_VERBOSE");
    fflush(stderr);
    char path[] = "/tmp/recur_verbose_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *saved = fdopen(dup(2), "w");
    assert_non_null(freopen(path, "w", stderr));
    recur_context *ctx;
    recur_rnn *rnn;
    recur_rnn_config cfg = {2, 3, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    float W[6] = {0}, U[9] = {0}, b[3] = {0}, x[4] = {1, 2, 3, 4}, y[6];
    recur_weights w = {W, U, b, NULL, NULL};
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_rnn_create(&rnn, &cfg), RECUR_OK);
    assert_int_equal(recur_forward(ctx, rnn, 2, 1, &w, x, NULL, y, NULL), RECUR_OK);
    recur_rnn_destroy(rnn);
    recur_context_destroy(ctx);
    fflush(stderr);
    assert_true(dup2(fileno(saved), 2) >= 0);
    fclose(saved);
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 4096);
    size_t n = fread(text, 1, 4095, f);
    text[n] = 0;
    fclose(f);
    close(fd);
    unlink(path);
    unsetenv("RECUR_VERBOSE");
    return text;
}

static void test_verbose_levels(void **state)
{
    (void)state;
    char *t = run_with(NULL);
    assert_string_equal(t, "");
    free(t);
    t = run_with("0");
    assert_string_equal(t, "");
    free(t);
    t = run_with("bogus");
    assert_string_equal(t, "");
    free(t);
    t = run_with("1");
    assert_non_null(strstr(t, "recur_verbose,forward,isa:"));
    assert_non_null(strstr(t, ",T:2,N:1,I:2,H:3,O:0,L:1,dir:forward,"));
    assert_non_null(strstr(t, ",solo_spell:0,status:ok,time_ms:"));
    assert_null(strstr(t, "recur_verbose,context"));
    free(t);
    t = run_with("2");
    assert_non_null(strstr(t, "recur_verbose,context,isa:"));
    assert_non_null(strstr(t, ",kc:"));
    assert_non_null(strstr(t, "recur_verbose,forward,"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_verbose_levels)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
