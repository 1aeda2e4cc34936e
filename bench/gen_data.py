#!/usr/bin/python3
"""Benchmark data: a MovieLens-1M-like click log with a planted click process.

    bench/gen_data.py --out DIR --rows 1000000 --seed 1
    bench/gen_data.py --out DIR --rows 100000 --max-history 200 --max-earlier-clicks 400 --extra-fields 91

writes DIR/train.tsv (the first 90% of the rows in time order), DIR/test.tsv (the rest),
DIR/requests.tsv (--requests scoring requests, 200 by default: one test user's features and
full history with --request-candidates candidate movies each, 100 by default, as that many
consecutive rows per request; bench/latency_curves.py asks for 1,000) and DIR/data.json (sizes,
constants, click rates, mean history length). Both engines of the comparison read the same
files. The same options give the same bytes.

For the scaling curves (bench/scaling.py) three options widen the rows; at their defaults
the files are the ones written before the options existed:
    --max-history N         keep up to N clicks in hist_movie_ids (default 50). The planted
                            process below still looks at the last 50 clicks only.
    --max-earlier-clicks M  experienced users start the log with 5 .. M clicks (default 120);
                            raise it with --max-history so that long histories exist.
    --extra-fields N        append N columns extra_0 .. extra_{N-1} (default 0), each a
                            categorical value "0" .. "C-1" (C = --extra-cardinality, default 100)
                            drawn uniformly per row from a generator of its own: pure noise, no
                            signal, and every other column is the same with or without them.

Columns (tab separated, one header line):
    label           1 clicked, 0 not
    user_id         1 .. 6040
    gender          F / M
    age             1, 18, 25, 35, 45, 50, 56 (MovieLens' buckets)
    occupation      0 .. 20
    zip             a five-digit code (3,439 drawn, about 2,750 in use)
    user_activity   new / light / medium / heavy: the user's clicks so far (<5, <20, <50, more)
    movie_id        candidate movie, 1 .. 3706
    genres          the candidate's 1-6 genres (of 18), '|'-joined
    hist_movie_ids  the user's last <= 50 clicks (--max-history) before this impression, oldest first, '|'-joined
    extra_0 ..      only with --extra-fields: noise categoricals (see above)

The planted process (per impression of user u, candidate movie i with genre set C):
    m     = sum over the last 50 clicks j of |genres(j) & C| / |C|      genre overlap, a count
    rel   = 1 - exp(-m / 4)                                              saturating relevance
    rep   = [i among the last 50 clicks]
    d     = mean over g in C of (A[age][g] + S[gender][g] + O[occupation][g])   demographics
    experienced (>= 5 clicks): logit = -2.6 + b_u + b_i + 2.8 rel + 0.8 rep + 0.3 d
    new (< 5 clicks):          logit = -1.4 + b_u + b_i + 0.4 rel + 1.5 d
so DIN (which can weight the matching clicks) and POSO (new and experienced users click for
different reasons; user_activity is the gate's input) both have something to find.
"""
import argparse
import json
import os

import numpy as np

GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
          "Thriller", "War", "Western"]
AGES = ["1", "18", "25", "35", "45", "50", "56"]
AGE_WEIGHTS = [0.037, 0.183, 0.347, 0.197, 0.091, 0.082, 0.063]
N_USERS, N_MOVIES, N_ZIPS, N_OCCUPATIONS = 6040, 3706, 3439, 21
PLANTED_WINDOW = 50  # the click process looks at a user's last 50 clicks
TRAIN_SHARE = 0.9
NEW_USER_CLICKS = 5  # fewer clicks than this: a "new" user, clicking by demographics
REQUESTS, CANDIDATES = 200, 100  # requests.tsv: 200 users x 100 candidate movies


def activity_bucket(clicks):
    return np.select([clicks < 5, clicks < 20, clicks < 50], [0, 1, 2], 3)


ACTIVITY_NAMES = np.array(["new", "light", "medium", "heavy"])


def draw_world(rng):
    w = {}
    genre_weight = rng.dirichlet(np.full(len(GENRES), 2.0))
    n_genres = rng.choice(np.arange(1, 7), size=N_MOVIES, p=[0.45, 0.30, 0.14, 0.07, 0.03, 0.01])
    movie_genres = np.zeros((N_MOVIES, len(GENRES)), dtype=np.float32)
    for i in range(N_MOVIES):
        movie_genres[i, rng.choice(len(GENRES), size=n_genres[i], replace=False, p=genre_weight)] = 1
    w["movie_genres"] = movie_genres
    popularity = (np.arange(N_MOVIES) + 10.0) ** -0.9
    w["movie_pop"] = rng.permutation(popularity / popularity.sum())
    w["movie_bias"] = rng.normal(0, 0.5, N_MOVIES)
    w["gender"] = (rng.random(N_USERS) < 0.72).astype(np.int64)  # 0 F, 1 M
    w["age"] = rng.choice(len(AGES), size=N_USERS, p=AGE_WEIGHTS)
    occupation_weight = rng.dirichlet(np.full(N_OCCUPATIONS, 3.0))
    w["occupation"] = rng.choice(N_OCCUPATIONS, size=N_USERS, p=occupation_weight)
    zip_weight = (np.arange(N_ZIPS) + 1.0) ** -0.3
    zip_codes = rng.choice(100000, size=N_ZIPS, replace=False)
    w["zip"] = zip_codes[rng.choice(N_ZIPS, size=N_USERS, p=zip_weight / zip_weight.sum())]
    w["user_bias"] = rng.normal(0, 0.4, N_USERS)
    # 2-3 favourite genres per user, which their earlier clicks and some impressions follow.
    w["interests"] = np.stack([rng.choice(len(GENRES), size=3, replace=False, p=genre_weight)
                               for _ in range(N_USERS)])
    w["n_interests"] = rng.integers(2, 4, N_USERS)
    w["age_affinity"] = rng.normal(0, 0.7, (len(AGES), len(GENRES)))
    w["gender_affinity"] = rng.normal(0, 0.5, (2, len(GENRES)))
    w["occupation_affinity"] = rng.normal(0, 0.3, (N_OCCUPATIONS, len(GENRES)))
    return w


class MoviePicker:
    """Draws movies by popularity, overall or within one genre."""

    def __init__(self, w):
        self.all_cdf = np.cumsum(w["movie_pop"])
        self.by_genre = []
        for g in range(len(GENRES)):
            movies = np.flatnonzero(w["movie_genres"][:, g])
            cdf = np.cumsum(w["movie_pop"][movies])
            self.by_genre.append((movies, cdf / cdf[-1]))

    def popular(self, rng, n):
        return np.minimum(np.searchsorted(self.all_cdf, rng.random(n) * self.all_cdf[-1]), N_MOVIES - 1)

    def of_genre(self, rng, genres):
        out = np.empty(len(genres), dtype=np.int64)
        for g in np.unique(genres):
            at = np.flatnonzero(genres == g)
            movies, cdf = self.by_genre[g]
            out[at] = movies[np.minimum(np.searchsorted(cdf, rng.random(len(at))), len(movies) - 1)]
        return out


def pick_interest(rng, w, users):
    slot = (rng.random(len(users)) * w["n_interests"][users]).astype(np.int64)
    return w["interests"][users, slot]


def simulate(rng, w, rows, max_earlier_clicks):
    """Returns per impression: user, movie, label, time, clicks before it; and the click lists."""
    picker = MoviePicker(w)
    G = w["movie_genres"]
    activity = rng.lognormal(0, 1.0, N_USERS)
    impressions = rng.multinomial(rows, activity / activity.sum())
    # Earlier clicks: a third of the users are new (0-3), the others have 5 .. max_earlier_clicks.
    new = rng.random(N_USERS) < 1 / 3
    earlier = np.where(new, rng.integers(0, 4, N_USERS), rng.integers(5, max_earlier_clicks + 1, N_USERS))
    capacity = int(earlier.max() + impressions.max())
    clicks = np.full((N_USERS, capacity), -1, dtype=np.int32)
    for u in range(N_USERS):
        n = earlier[u]
        from_interest = rng.random(n) < 0.7
        movies = picker.popular(rng, n)
        if from_interest.any():
            users = np.full(int(from_interest.sum()), u)
            movies[from_interest] = picker.of_genre(rng, pick_interest(rng, w, users))
        clicks[u, :n] = movies
    n_clicks = earlier.copy()
    # Genre counts of each user's last PLANTED_WINDOW clicks, kept up to date as clicks arrive.
    window = np.zeros((N_USERS, len(GENRES)), dtype=np.float32)
    for u in range(N_USERS):
        window[u] = G[clicks[u, max(0, n_clicks[u] - PLANTED_WINDOW):n_clicks[u]]].sum(0)

    out_user, out_movie, out_label, out_before, out_p = [], [], [], [], []
    for k in range(int(impressions.max())):
        users = np.flatnonzero(impressions > k)
        interest = rng.random(len(users)) < 0.35
        movies = picker.popular(rng, len(users))
        if interest.any():
            movies[interest] = picker.of_genre(rng, pick_interest(rng, w, users[interest]))
        cand = G[movies]                                   # [n, 18]
        size = cand.sum(1)
        m = (window[users] * cand).sum(1) / size
        rel = 1 - np.exp(-m / 4)
        before = n_clicks[users]
        cols = before[:, None] - PLANTED_WINDOW + np.arange(PLANTED_WINDOW)
        recent = np.where(cols >= 0, clicks[users[:, None], np.maximum(cols, 0)], -1)
        rep = (recent == movies[:, None]).any(1)
        affinity = (w["age_affinity"][w["age"][users]] + w["gender_affinity"][w["gender"][users]]
                    + w["occupation_affinity"][w["occupation"][users]])
        d = (affinity * cand).sum(1) / size
        base = w["user_bias"][users] + w["movie_bias"][movies]
        logit = np.where(before >= NEW_USER_CLICKS,
                         -2.6 + base + 2.8 * rel + 0.8 * rep + 0.3 * d,
                         -1.4 + base + 0.4 * rel + 1.5 * d)
        p = 1 / (1 + np.exp(-logit))
        label = rng.random(len(users)) < p
        out_p.append(p)
        out_user.append(users)
        out_movie.append(movies)
        out_label.append(label)
        out_before.append(before)
        # Append the clicks; slide the genre window.
        cu, cm = users[label], movies[label]
        clicks[cu, n_clicks[cu]] = cm
        dropped = n_clicks[cu] - PLANTED_WINDOW
        old = dropped >= 0
        window[cu[old]] -= G[clicks[cu[old], dropped[old]]]
        window[cu] += G[cm]
        n_clicks[cu] += 1

    user = np.concatenate(out_user)
    order_k = np.concatenate([np.full(len(u), k) for k, u in enumerate(out_user)])
    # Impression times: each user's k-th impression at the k-th of their sorted uniform times.
    start = np.concatenate([[0], np.cumsum(impressions)[:-1]])
    flat_times = np.concatenate([np.sort(rng.random(c)) for c in impressions])
    times = flat_times[start[user] + order_k]
    return dict(user=user, movie=np.concatenate(out_movie), label=np.concatenate(out_label),
                before=np.concatenate(out_before), p=np.concatenate(out_p), time=times, clicks=clicks)


def auc(scores, labels):
    """Exact AUC, ties counting half."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order].astype(bool)
    _, start, counts = np.unique(s, return_index=True, return_counts=True)
    ranks = np.repeat(start + (counts + 1) / 2, counts)  # 1-based mid-ranks of tied groups
    pos = y.sum()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


class Layout:
    """What the written rows hold beyond the fixed columns: the history's length limit and the
    noise columns (drawn from `extra_rng`, which nothing else uses)."""

    def __init__(self, max_history, extra_fields, extra_cardinality, extra_rng):
        self.max_history = max_history
        self.extra_fields = extra_fields
        self.extra_names = np.array([str(v) for v in range(extra_cardinality)], dtype=object)
        self.extra_rng = extra_rng

    def header(self):
        extra = "".join(f"\textra_{k}" for k in range(self.extra_fields))
        return f"label\tuser_id\tgender\tage\toccupation\tzip\tuser_activity\tmovie_id\tgenres\thist_movie_ids{extra}\n"

    def extra_text(self, rows):
        """Per row the tab-led text of its noise columns ("" without them)."""
        if self.extra_fields == 0:
            return [""] * rows
        values = self.extra_names[self.extra_rng.integers(0, len(self.extra_names), size=(rows, self.extra_fields))]
        return ["\t" + "\t".join(v) for v in values]


def write_rows(path, w, layout, clicks, user, movie, before, label):
    """Writes impressions (arrays of users, candidate movies, clicks before, labels) as TSV."""
    movie_names = np.array([str(i + 1) for i in range(N_MOVIES)], dtype=object)
    genre_names = np.array(GENRES, dtype=object)
    genre_text = np.array(["|".join(genre_names[np.flatnonzero(g)]) for g in w["movie_genres"]], dtype=object)
    zip_text = np.array([f"{z:05d}" for z in w["zip"]], dtype=object)
    activity = ACTIVITY_NAMES[activity_bucket(before)]
    lengths = np.minimum(before, layout.max_history)
    extra = layout.extra_text(len(user))
    with open(path, "w") as f:
        f.write(layout.header())
        lines = []
        for r in range(len(user)):
            u, b = user[r], before[r]
            hist = "|".join(movie_names[clicks[u, b - lengths[r]:b]])
            lines.append(f"{int(label[r])}\t{u + 1}\t{'M' if w['gender'][u] else 'F'}\t"
                         f"{AGES[w['age'][u]]}\t{w['occupation'][u]}\t{zip_text[u]}\t{activity[r]}\t"
                         f"{movie[r] + 1}\t{genre_text[movie[r]]}\t{hist}{extra[r]}\n")
            if len(lines) == 100000:
                f.writelines(lines)
                lines = []
        f.writelines(lines)


def write_split(path, w, layout, sim, rows):
    write_rows(path, w, layout, sim["clicks"], sim["user"][rows], sim["movie"][rows], sim["before"][rows],
               sim["label"][rows])


def write_requests(path, w, layout, sim, test_rows, rng, requests, candidates):
    """Scoring requests: per request one test impression's user (features and a full
    max_history-item history where the test rows have one) with `candidates` candidate movies
    taken from other test impressions; label 0."""
    full = test_rows[sim["before"][test_rows] >= layout.max_history]
    anchor = rng.choice(full if len(full) else test_rows, size=requests)
    movies = sim["movie"][rng.choice(test_rows, size=(requests, candidates))]
    user = np.repeat(sim["user"][anchor], candidates)
    before = np.repeat(sim["before"][anchor], candidates)
    write_rows(path, w, layout, sim["clicks"], user, movies.reshape(-1), before, np.zeros(len(user)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="impressions in all (train + test)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-history", type=int, default=PLANTED_WINDOW,
                        help="most clicks kept in hist_movie_ids (default %(default)s)")
    parser.add_argument("--max-earlier-clicks", type=int, default=120,
                        help="experienced users' clicks before the log: 5 .. this (default %(default)s)")
    parser.add_argument("--extra-fields", type=int, default=0, help="noise columns extra_0 .. extra_{N-1} appended")
    parser.add_argument("--extra-cardinality", type=int, default=100, help="distinct values of each noise column")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="scoring requests in requests.tsv")
    parser.add_argument("--request-candidates", type=int, default=CANDIDATES,
                        help="candidate movies per scoring request (rows per request in requests.tsv)")
    args = parser.parse_args()
    if args.max_history < 1 or args.max_earlier_clicks < 5 or args.extra_fields < 0 or args.extra_cardinality < 1:
        parser.error("need --max-history >= 1, --max-earlier-clicks >= 5, --extra-fields >= 0, --extra-cardinality >= 1")
    if args.requests < 1 or args.request_candidates < 1:
        parser.error("need --requests >= 1 and --request-candidates >= 1")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    w = draw_world(rng)
    sim = simulate(rng, w, args.rows, args.max_earlier_clicks)
    layout = Layout(args.max_history, args.extra_fields, args.extra_cardinality, np.random.default_rng([args.seed, 1]))
    order = np.argsort(sim["time"], kind="stable")
    n_train = int(TRAIN_SHARE * args.rows)
    write_split(os.path.join(args.out, "train.tsv"), w, layout, sim, order[:n_train])
    write_split(os.path.join(args.out, "test.tsv"), w, layout, sim, order[n_train:])
    write_requests(os.path.join(args.out, "requests.tsv"), w, layout, sim, order[n_train:], rng, args.requests,
                   args.request_candidates)
    lengths = np.minimum(sim["before"], args.max_history)
    info = {
        "rows": args.rows, "seed": args.seed, "train_rows": n_train, "test_rows": args.rows - n_train,
        "users": N_USERS, "movies": N_MOVIES, "zips": int(len(np.unique(w["zip"]))), "genres": len(GENRES),
        "click_rate": {"train": float(sim["label"][order[:n_train]].mean()),
                       "test": float(sim["label"][order[n_train:]].mean())},
        "planted_auc": {"train": auc(sim["p"][order[:n_train]], sim["label"][order[:n_train]]),
                        "test": auc(sim["p"][order[n_train:]], sim["label"][order[n_train:]])},
        "mean_history_length": float(lengths.mean()),
        "mean_genres": float(w["movie_genres"][sim["movie"]].sum(1).mean()),
        "activity_share": {name: float((activity_bucket(sim["before"]) == i).mean())
                           for i, name in enumerate(ACTIVITY_NAMES)},
        "max_history": args.max_history, "max_earlier_clicks": args.max_earlier_clicks,
        "extra_fields": args.extra_fields, "extra_cardinality": args.extra_cardinality,
        "requests": args.requests, "request_candidates": args.request_candidates,
    }
    with open(os.path.join(args.out, "data.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
