/*
 * What the course's example shares between its one-process (cuisine_lm.c) and MPI
 * (cuisine_mpi.c) forms: the model and batch sizes, the corpus (vocabulary and
 * sentences as word ids) and the seeded generator, so both draw the same weights and the
 * same shuffles and their loss curves can be compared.
 */
#ifndef CUISINE_CORPUS_H
#define CUISINE_CORPUS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CORPUS_PATH
#define CORPUS_PATH "examples/data/cuisine_corpus.txt"
#endif

enum { MAX_VOCAB = 256, MAX_WORDS = 32, MAX_SENT = 1024, HIDDEN = 64, BATCH = 16 };

typedef struct corpus {
    char vocab[MAX_VOCAB][24];
    int nvocab;
    int sent[MAX_SENT][MAX_WORDS];
    int len[MAX_SENT];
    int nsent;
} corpus;

static inline int word_id(corpus *c, const char *w, int add)
{
    for (int i = 0; i < c->nvocab; i++)
        if (strcmp(c->vocab[i], w) == 0)
            return i;
    if (!add || c->nvocab == MAX_VOCAB || strlen(w) >= sizeof c->vocab[0])
        return -1;
    strcpy(c->vocab[c->nvocab], w);
    return c->nvocab++;
}

/* Splits line into word ids; returns the count, or -1 on an unknown/too long word. */
static inline int tokenize(corpus *c, char *line, int *ids, int add)
{
    int n = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (n == MAX_WORDS)
            return -1;
        int id = word_id(c, tok, add);
        if (id < 0)
            return -1;
        ids[n++] = id;
    }
    return n;
}

/* Reads the corpus: one sentence a line, '#' comments; 0, or -1 when unreadable or empty. */
static inline int load(corpus *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f) && c->nsent < MAX_SENT) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int n = tokenize(c, line, c->sent[c->nsent], 1);
        if (n >= 2)
            c->len[c->nsent++] = n;
    }
    fclose(f);
    return c->nsent > 0 ? 0 : -1;
}

/* Uniform [0, 1), splitmix64 from a fixed seed: the same numbers in every process. */
static uint64_t rng_state = 42;
static inline double rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static inline void init_uniform(float *p, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2 * rnd() - 1) * scale);
}

#endif
