# Reference results for netevidence.pooling.glmm, produced with metafor::rma.glmm() (lme4::glmer).
# Run from the repository root:  Rscript tests/reference/glmm.R
# Writes tests/reference/glmm.json with the exact R call and the input data beside each result.
suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
})

source("tests/reference/json.R")  # to_json(): numbers at 17 significant digits

cases <- list()
meta <- list(metafor = as.character(packageVersion("metafor")),
             lme4 = as.character(packageVersion("lme4")),
             R = R.version.string,
             rma_glmm_default_nAGQ = formals(rma.glmm)$nAGQ)

# 0% and 100% studies, and a homogeneous set (tau^2 estimated at 0)
zero_full <- data.frame(xi = c(0, 3, 12, 5, 0, 9, 20, 4), ni = c(15, 22, 12, 30, 8, 25, 20, 11))
homog <- data.frame(xi = c(10, 12, 9, 11, 10), ni = c(50, 52, 49, 51, 50))

add_glmm <- function(name, call, data) {
  res <- suppressWarnings(eval(parse(text = call)))
  pr <- predict(res, transf = transf.ilogit)
  cases[[length(cases) + 1]] <<- list(
    name = name, call = call, kind = "rma.glmm",
    predict_call = "predict(res, transf = transf.ilogit)",
    events = as.numeric(data$xi), n = as.numeric(data$ni),
    estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
    zval = res$zval, pval = res$pval, tau2 = res$tau2,
    loglik = as.numeric(res$fit.stats["ll", "ML"]),
    pred = pr$pred, pred_ci_low = pr$ci.lb, pred_ci_high = pr$ci.ub,
    pred_pi_low = pr$pi.lb, pred_pi_high = pr$pi.ub)
}

# three simulated sets (binomial-normal model), fixed seed
set.seed(20241)
for (j in 1:3) {
  k <- 5 + 2 * j
  ni <- sample(8:120, k, replace = TRUE)
  xi <- rbinom(k, ni, plogis(qlogis(0.15 * j) + 0.8 * rnorm(k)))
  assign(paste0("sim", j), data.frame(xi = xi, ni = ni))
}

for (nm in c("dat.pritz1997", "zero_full", "homog", "sim1", "sim2", "sim3")) {
  d <- get(nm)
  for (q in c(NA, 1, 15)) {
    call <- if (is.na(q)) {
      sprintf('rma.glmm(measure = "PLO", xi = xi, ni = ni, data = %s, method = "ML")', nm)
    } else {
      sprintf('rma.glmm(measure = "PLO", xi = xi, ni = ni, data = %s, method = "ML", nAGQ = %d)', nm, q)
    }
    add_glmm(paste0(sub("dat.", "", nm, fixed = TRUE), "_nAGQ_", ifelse(is.na(q), "default", q)), call, d)
  }
}

# The Laplace likelihood itself: lme4's deviance function (nAGQ = 1) at fixed (tau, beta), which is
# -2 log-likelihood including the binomial constants. Compared with our n_agq = 1 likelihood.
devfun_cases <- list()
moderate <- data.frame(xi = c(3, 7, 12, 5, 9), ni = c(10, 12, 30, 14, 20))
moderate$study <- factor(seq_len(nrow(moderate)))
pritz <- dat.pritz1997
pritz$study <- factor(seq_len(nrow(pritz)))
for (nm in c("moderate", "pritz")) {
  d <- get(nm)
  fit_call <- sprintf("lme4::glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), data = %s, family = binomial, nAGQ = 1)", nm)
  fit <- suppressMessages(suppressWarnings(eval(parse(text = fit_call))))
  devfun <- update(fit, devFunOnly = TRUE)
  for (par in list(c(0.3, -0.2), c(0.8, 0.5), c(1.5, 1.2))) {
    cases[[length(cases) + 1]] <- list(
      name = paste0("laplace_devfun_", nm, "_tau_", par[1], "_beta_", par[2]),
      call = sprintf("update(%s, devFunOnly = TRUE)(c(%s, %s))", fit_call, par[1], par[2]),
      kind = "laplace_devfun", events = as.numeric(d$xi), n = as.numeric(d$ni),
      tau = par[1], beta = par[2], deviance = devfun(par))
  }
}

writeLines(to_json(list(meta = meta, cases = cases)), "tests/reference/glmm.json")
cat("wrote", length(cases), "cases\n")
