# Reference results for tests/test_pooling_proportions.py: the three models for single proportions
# (metafor rma.glmm, rma with PLO, rma with PFT and the harmonic-mean inverse) and exact Clopper-Pearson
# intervals (binom.test). Run from the repository root:  Rscript tests/reference/proportions.R
# Writes tests/reference/proportions.json with the R call beside each result.
suppressPackageStartupMessages({library(metafor); library(lme4)})
source("tests/reference/json.R")

vec <- function(x) structure(as.numeric(x), as_array = TRUE)
sets <- list(
  pritz1997 = list(call = "dat.pritz1997", data = dat.pritz1997),
  zero_full = list(call = "data.frame(xi = c(0, 3, 12, 5, 0, 9, 20, 4), ni = c(15, 22, 12, 30, 8, 25, 20, 11))",
                   data = data.frame(xi = c(0, 3, 12, 5, 0, 9, 20, 4), ni = c(15, 22, 12, 30, 8, 25, 20, 11))),
  three = list(call = "data.frame(xi = c(4, 9, 2), ni = c(21, 30, 17))",
               data = data.frame(xi = c(4, 9, 2), ni = c(21, 30, 17))))
out <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]$data
  g <- suppressWarnings(rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d))
  pg <- predict(g, transf = transf.ilogit)
  l <- rma(measure = "PLO", xi = xi, ni = ni, data = d, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
  pl <- predict(l, transf = transf.ilogit)
  f <- rma(measure = "PFT", xi = xi, ni = ni, data = d, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
  pf <- predict(f, transf = transf.ipft.hm, targs = list(ni = d$ni))
  cp <- t(sapply(seq_len(nrow(d)), function(i) binom.test(d$xi[i], d$ni[i])$conf.int))
  pr <- function(p) list(pred = p$pred, ci_low = p$ci.lb, ci_high = p$ci.ub, pi_low = p$pi.lb, pi_high = p$pi.ub)
  out[[nm]] <- list(
    data_call = sets[[nm]]$call, events = vec(d$xi), n = vec(d$ni),
    glmm = c(list(call = "predict(rma.glmm(measure = \"PLO\", xi = xi, ni = ni, data = d), transf = transf.ilogit)",
                  tau2 = g$tau2), pr(pg)),
    logit = c(list(call = "predict(rma(measure = \"PLO\", xi = xi, ni = ni, data = d, method = \"REML\", control = list(threshold = 1e-12, maxiter = 10000)), transf = transf.ilogit)",
                   tau2 = l$tau2), pr(pl)),
    ft = c(list(call = "predict(rma(measure = \"PFT\", xi = xi, ni = ni, data = d, method = \"REML\", control = list(threshold = 1e-12, maxiter = 10000)), transf = transf.ipft.hm, targs = list(ni = d$ni))",
                tau2 = f$tau2), pr(pf)),
    clopper_pearson = list(call = "binom.test(xi[i], ni[i])$conf.int", low = vec(cp[, 1]), high = vec(cp[, 2])))
}
out$meta <- list(metafor = as.character(packageVersion("metafor")), lme4 = as.character(packageVersion("lme4")),
                 R = R.version.string, script = "tests/reference/proportions.R")
writeLines(to_json(out), "tests/reference/proportions.json")
