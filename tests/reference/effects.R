# Reference results for netevidence.effects, produced with metafor::escalc().
# Run from the repository root:  Rscript tests/reference/effects.R
# Writes tests/reference/effects.json. Every result stores the exact R call that produced it
# and the input data, so that the Python tests do not need R.
suppressPackageStartupMessages(library(metafor))


source("tests/reference/json.R")  # to_json(): numbers at 17 significant digits

cases <- list()
meta <- list(
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  R = R.version.string,
  conv_wald_available = exists("conv.wald", where = asNamespace("metafor"))
)

# evaluate an escalc() call given as text, keep the call string beside the numbers
add_escalc <- function(name, call, inputs, env = globalenv()) {
  res <- eval(parse(text = call), envir = env)
  cases[[length(cases) + 1]] <<- list(
    name = name, call = call, inputs = inputs,
    yi = as.numeric(res$yi), vi = as.numeric(res$vi)
  )
}

# ---- single proportions ------------------------------------------------------------------
pr_inputs <- list(events = dat.pritz1997$xi, n = dat.pritz1997$ni)
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  add_escalc(paste0("pritz1997_", m),
             sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = dat.pritz1997)', m),
             c(list(measure = m), pr_inputs))
}
bcg_t <- list(events = dat.bcg$tpos, n = dat.bcg$tpos + dat.bcg$tneg)
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  add_escalc(paste0("bcg_treated_", m),
             sprintf('escalc(measure = "%s", xi = tpos, ni = tpos + tneg, data = dat.bcg)', m),
             c(list(measure = m), bcg_t))
}

# hand-made: zero and all-event studies
hm <- data.frame(xi = c(0, 3, 10, 7, 0, 25), ni = c(12, 20, 10, 7, 30, 40))
hm_inputs <- list(events = hm$xi, n = hm$ni)
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  add_escalc(paste0("handmade_prop_", m),
             sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = hm)', m),
             c(list(measure = m), hm_inputs))
  for (to in c("all", "if0all", "only0")) {
    add_escalc(paste0("handmade_prop_", m, "_to_", to, "_add_0.25"),
               sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = hm, add = 0.25, to = "%s")', m, to),
               c(list(measure = m, add = 0.25, to = to), hm_inputs))
  }
}
# to = "if0all" with no zero anywhere: nothing is added
hm_nz <- data.frame(xi = c(2, 3, 5), ni = c(12, 20, 10))
for (m in c("PR", "PLO")) {
  add_escalc(paste0("handmade_nozero_", m, "_if0all"),
             sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = hm_nz, to = "if0all")', m),
             list(measure = m, to = "if0all", events = hm_nz$xi, n = hm_nz$ni))
}
# to = "none" on finite cases (PAS, PFT need no correction; PR has finite variance 0 at 0%)
for (m in c("PR", "PAS", "PFT")) {
  add_escalc(paste0("handmade_prop_", m, "_to_none"),
             sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = hm, to = "none")', m),
             c(list(measure = m, to = "none"), hm_inputs))
}
# explicit add for PAS / PFT (metafor then applies it, the default for these is add = 0)
for (m in c("PAS", "PFT")) {
  add_escalc(paste0("handmade_prop_", m, "_explicit_add"),
             sprintf('escalc(measure = "%s", xi = xi, ni = ni, data = hm, add = 1/2)', m),
             c(list(measure = m, add = 0.5), hm_inputs))
}

# ---- two groups --------------------------------------------------------------------------
bcg2 <- list(events1 = dat.bcg$tpos, n1 = dat.bcg$tpos + dat.bcg$tneg,
             events2 = dat.bcg$cpos, n2 = dat.bcg$cpos + dat.bcg$cneg)
nw <- list(events1 = dat.nielweise2007$ai, n1 = dat.nielweise2007$n1i,
           events2 = dat.nielweise2007$ci, n2 = dat.nielweise2007$n2i)
eg <- list(events1 = dat.egger2001$ai, n1 = dat.egger2001$n1i,
           events2 = dat.egger2001$ci, n2 = dat.egger2001$n2i)
for (m in c("RR", "OR", "RD")) {
  add_escalc(paste0("bcg_", m),
             sprintf('escalc(measure = "%s", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)', m),
             c(list(measure = m), bcg2))
  add_escalc(paste0("nielweise2007_", m),
             sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007)', m),
             c(list(measure = m), nw))
  add_escalc(paste0("nielweise2007_", m, "_drop00"),
             sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007, drop00 = TRUE)', m),
             c(list(measure = m, drop00 = TRUE), nw))
  add_escalc(paste0("egger2001_", m),
             sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)', m),
             c(list(measure = m), eg))
}
# hand-made two-group: single zero, double zero, all events in both arms, all events in one arm
hm2 <- data.frame(ai = c(0, 0, 10, 5, 8, 3), n1i = c(15, 20, 10, 5, 30, 25),
                  ci = c(4, 0, 12, 2, 8, 6), n2i = c(15, 18, 12, 9, 30, 25))
hm2_inputs <- list(events1 = hm2$ai, n1 = hm2$n1i, events2 = hm2$ci, n2 = hm2$n2i)
for (m in c("RR", "OR", "RD")) {
  add_escalc(paste0("handmade_2g_", m),
             sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = hm2)', m),
             c(list(measure = m), hm2_inputs))
  add_escalc(paste0("handmade_2g_", m, "_drop00"),
             sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = hm2, drop00 = TRUE)', m),
             c(list(measure = m, drop00 = TRUE), hm2_inputs))
  for (to in c("all", "if0all")) {
    add_escalc(paste0("handmade_2g_", m, "_to_", to),
               sprintf('escalc(measure = "%s", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = hm2, to = "%s", add = 1)', m, to),
               c(list(measure = m, to = to, add = 1), hm2_inputs))
  }
}
# RD needs no correction for a finite variance; metafor still applies it with to = "only0"
add_escalc("handmade_2g_RD_to_none",
           'escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = hm2, to = "none")',
           c(list(measure = "RD", to = "none"), hm2_inputs))

# ---- back-transformations (metafor's transf.* functions) ---------------------------------
grid <- c(-3, -1.2, -0.3, 0, 0.05, 0.4, 0.785, 1.2, 1.5, 1.6, 2.5)
pft_grid <- c(-0.1, 0, 0.05, 0.2, 0.5, 0.7853981633974483, 1.1, 1.4, 1.55, 1.7)
add_transf <- function(name, call, x, measure, extra = list()) {
  z <- eval(parse(text = call))
  cases[[length(cases) + 1]] <<- c(list(name = name, call = call, measure = measure, x = x,
                                        value = as.numeric(z)), extra)
}
add_transf("transf_exp", "exp(grid)", grid, "RR")
add_transf("transf_ilogit", "transf.ilogit(grid)", grid, "PLO")
add_transf("transf_iarcsin", "transf.iarcsin(grid)", grid, "PAS")
add_transf("transf_ipft_hm_pritz", "transf.ipft.hm(pft_grid, targs = list(ni = dat.pritz1997$ni))",
           pft_grid, "PFT", list(ni = dat.pritz1997$ni))
add_transf("transf_ipft_n20", "transf.ipft(pft_grid, ni = 20)", pft_grid, "PFT", list(ni = 20))
add_transf("transf_cloglog_surv", "exp(-exp(grid))", grid, "SURV")

# ---- hazard ratios, medians and survival: conv.wald() when available, else the formula ---
hr <- data.frame(hr = c(0.72, 1.35, 0.5, 0.91), lo = c(0.55, 1.02, 0.31, 0.70),
                 hi = c(0.94, 1.79, 0.81, 1.18), p = c(0.016, 0.036, 0.0049, 0.48))
if (meta$conv_wald_available) {
  call_ci <- 'conv.wald(out = hr, ci.lb = lo, ci.ub = hi, data = hr, transf = log, check = FALSE)'
  call_p <- 'conv.wald(out = hr, pval = p, data = hr, transf = log)'
} else {
  # metafor < 4.0 has no conv.wald(); the same documented Wald formula is computed directly:
  # yi = log(hr), sei = (log(hi) - log(lo)) / (2 * qnorm(0.975)); from p: sei = |yi| / qnorm(p / 2, lower = FALSE)
  call_ci <- 'with(hr, data.frame(yi = log(hr), vi = ((log(hi) - log(lo)) / (2 * qnorm(0.975)))^2))'
  call_p <- 'with(hr, data.frame(yi = log(hr), vi = (abs(log(hr)) / qnorm(p / 2, lower.tail = FALSE))^2))'
}
add_escalc("hr_from_ci", call_ci, list(measure = "HR", hr = hr$hr, ci_low = hr$lo, ci_high = hr$hi, level = 0.95))
add_escalc("hr_from_p", call_p, list(measure = "HR", hr = hr$hr, p = hr$p))
call_ci90 <- 'with(hr, data.frame(yi = log(hr), vi = ((log(hi) - log(lo)) / (2 * qnorm(0.95)))^2))'
add_escalc("hr_from_ci_level90", call_ci90, list(measure = "HR", hr = hr$hr, ci_low = hr$lo, ci_high = hr$hi, level = 0.90))

# Peto's O - E and V (reproduced from 2x2 tables with escalc(measure = "PETO"), whose
# log odds ratio is (O - E) / V with V the hypergeometric variance; to = "none" as Peto needs no correction)
peto_call <- 'escalc(measure = "PETO", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001, to = "none")'
pt <- eval(parse(text = peto_call))
with(transform(dat.egger2001, ai = as.numeric(ai), ci = as.numeric(ci), n1i = as.numeric(n1i), n2i = as.numeric(n2i)), {
  N <- n1i + n2i; xt <- ai + ci; E <- xt * n1i / N
  V <- xt * (N - xt) * n1i * n2i / (N^2 * (N - 1))
  cases[[length(cases) + 1]] <<- list(
    name = "peto_egger2001", call = peto_call,
    inputs = list(measure = "HR", o_minus_e = ai - E, v = V),
    yi = as.numeric(pt$yi), vi = as.numeric(pt$vi))
})

# median survival (log scale), ratio of medians and landmark survival: the formulas in R
md <- data.frame(med = c(14.2, 30.5, 22.0), lo = c(11.0, 24.1, 18.3), hi = c(18.9, 41.0, NA))
add_escalc("median_from_ci",
  'with(md, data.frame(yi = log(med), vi = ifelse(is.na(hi), ((log(med) - log(lo)) / qnorm(0.975))^2, ((log(hi) - log(lo)) / (2 * qnorm(0.975)))^2)))',
  list(measure = "MEDIAN", median = md$med, ci_low = md$lo, ci_high = md$hi,
       ci_high_not_reached = is.na(md$hi)))
rm2 <- data.frame(m1 = c(20.1, 35.0), l1 = c(15.2, 28.4), h1 = c(26.7, 44.9),
                  m2 = c(12.3, 25.5), l2 = c(9.8, 20.0), h2 = c(16.0, 31.2))
add_escalc("rom_surv",
  'with(rm2, data.frame(yi = log(m1 / m2), vi = ((log(h1) - log(l1)) / (2 * qnorm(0.975)))^2 + ((log(h2) - log(l2)) / (2 * qnorm(0.975)))^2))',
  list(measure = "ROM_SURV", median1 = rm2$m1, ci_low1 = rm2$l1, ci_high1 = rm2$h1,
       median2 = rm2$m2, ci_low2 = rm2$l2, ci_high2 = rm2$h2))
sv <- data.frame(s = c(0.62, 0.35, 0.81), lo = c(0.51, 0.25, 0.70), hi = c(0.73, 0.45, 0.92), nr = c(48, 30, 61))
add_escalc("surv_from_ci_delta",
  'with(sv, data.frame(yi = log(-log(s)), vi = (((hi - lo) / (2 * qnorm(0.975))) / (s * abs(log(s))))^2))',
  list(measure = "SURV", surv = sv$s, ci_low = sv$lo, ci_high = sv$hi))
add_escalc("surv_from_ci_loglog",
  'with(sv, data.frame(yi = log(-log(s)), vi = ((log(-log(lo)) - log(-log(hi))) / (2 * qnorm(0.975)))^2))',
  list(measure = "SURV", surv = sv$s, ci_low = sv$lo, ci_high = sv$hi, ci_scale = "loglog"))
add_escalc("surv_from_n_at_risk_peto",
  'with(sv, data.frame(yi = log(-log(s)), vi = (1 - s) / (nr * log(s)^2)))',
  list(measure = "SURV", surv = sv$s, n_at_risk = sv$nr))

# ---- back-transforms through predict() on a fitted model ----------------------------------
add_predict <- function(name, fit_call, predict_call, measure, inputs) {
  fit <- eval(parse(text = fit_call))
  pr <- eval(parse(text = predict_call))
  cases[[length(cases) + 1]] <<- list(
    name = name, call = fit_call, predict_call = predict_call, measure = measure, predict_inputs = inputs,
    pred = as.numeric(pr$pred), ci_low = as.numeric(pr$ci.lb), ci_high = as.numeric(pr$ci.ub),
    pi_low = as.numeric(pr$pi.lb), pi_high = as.numeric(pr$pi.ub))
}
add_predict("predict_pritz1997_PFT", 'rma(measure = "PFT", xi = xi, ni = ni, data = dat.pritz1997)',
            "predict(fit, transf = transf.ipft.hm, targs = list(ni = dat.pritz1997$ni))", "PFT", pr_inputs)
add_predict("predict_pritz1997_PLO", 'rma(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)',
            "predict(fit, transf = transf.ilogit)", "PLO", pr_inputs)
add_predict("predict_pritz1997_PAS", 'rma(measure = "PAS", xi = xi, ni = ni, data = dat.pritz1997)',
            "predict(fit, transf = transf.iarcsin)", "PAS", pr_inputs)
add_predict("predict_bcg_RR", 'rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)',
            "predict(fit, transf = exp)", "RR", bcg2)

out <- list(meta = meta, cases = cases)
writeLines(to_json(out), "tests/reference/effects.json")
cat("wrote", length(cases), "cases\n")
