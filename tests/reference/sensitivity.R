# Reference results for netevidence.pooling sensitivity, bias, subgroup and
# meta-regression functions, computed with R's metafor on metadat data sets.
#
# Run from the repository root:
#   Rscript tests/reference/sensitivity.R
# Output: tests/reference/sensitivity.json (numbers at 17 significant digits).
# Each result stores the exact R call that produced it in its "call" field;
# each data set stores the escalc() call that produced yi and vi.

suppressMessages({
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "sensitivity.json")

# ---------------------------------------------------------------- data sets
datasets <- list()
data_env <- new.env()

add_dataset <- function(name, call, extra = character()) {
  d <- eval(parse(text = call))
  d <- as.data.frame(d)
  assign(name, d, envir = data_env)
  entry <- list(call = call, yi = as.numeric(d$yi), vi = as.numeric(d$vi))
  for (col in extra) {
    v <- d[[col]]
    entry[[col]] <- if (is.numeric(v)) as.numeric(v) else as.character(v)
  }
  datasets[[name]] <<- entry
}

add_dataset("bcg",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)',
  c("year", "ablat", "alloc"))
add_dataset("egger2001",
  'escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)',
  c("year"))
add_dataset("hackshaw1998",
  'dat.hackshaw1998',
  c("year", "design"))
add_dataset("raudenbush1985",
  'dat.raudenbush1985',
  c("year", "weeks", "tester"))
add_dataset("pritz1997",
  'escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)',
  character())
add_dataset("nielweise2007",
  'escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007)',
  c("year"))
add_dataset("normand1999",
  'escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)',
  character())
add_dataset("molloy2014",
  'escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)',
  c("year", "design", "meanage"))
add_dataset("li2007",
  'escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)',
  c("year"))
add_dataset("hine1989",
  'escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)',
  character())
add_dataset("baskerville2012",
  'escalc(measure = "SMD", yi = smd, sei = se, data = dat.baskerville2012)',
  c("year", "design", "blind", "alloconc", "duration"))
add_dataset("bcg7",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, subset = 1:7)',
  c("ablat"))
add_dataset("bcg3",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, subset = 1:3)',
  c("year", "ablat"))
add_dataset("bcg2",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, subset = 1:2)',
  c("year", "ablat"))

# ---------------------------------------------------------------- helpers
results <- list()

# metafor's default convergence criteria (change in tau^2 below 1e-5 for ML/REML/EB
# Fisher scoring, uniroot tolerance 1.2e-4 for PM) leave iterative estimates up to
# ~1e-4 (relative) away from the exact solution; the references are computed with
# tightened criteria so that they can be tested at relative 1e-6 (trimfill() does not
# pass the model's control on to its refits, so it is given the same list directly).
CTL <- "control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)"
with_ctl <- function(call) gsub("rma(yi, vi, ", paste0("rma(yi, vi, ", CTL, ", "), call, fixed = TRUE)

run <- function(id, dataset, kind, call, extract, args = list()) {
  call <- with_ctl(call)
  value <- eval(parse(text = call), envir = data_env)
  results[[length(results) + 1]] <<- list(
    id = id, dataset = dataset, kind = kind, call = call,
    args = args, result = extract(value))
}

num <- function(x) as.numeric(x)

rma_fields <- function(r) {
  list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
       ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2),
       se_tau2 = num(r$se.tau2), QE = num(r$QE), QEp = num(r$QEp),
       QM = num(r$QM), QMp = num(r$QMp), QMdf = num(r$QMdf),
       I2 = num(r$I2), H2 = num(r$H2), R2 = if (is.null(r$R2)) NA else num(r$R2),
       k = r$k, p = r$p, ddf = num(r$ddf), test = r$test, method = r$method)
}

list_fields <- function(r) {
  r <- unclass(r)
  stat <- if (!is.null(r$tval)) r$tval else r$zval
  list(estimate = num(r$estimate), se = num(r$se), statistic = num(stat),
       pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
       Q = num(r$Q), Qp = num(r$Qp),
       tau2 = if (is.null(r$tau2)) NA else num(r$tau2),
       I2 = num(r$I2), H2 = num(r$H2))
}

infl_fields <- function(r) {
  inf <- r$inf
  list(rstudent = num(inf$rstudent), dffits = num(inf$dffits),
       cook_d = num(inf$cook.d), cov_r = num(inf$cov.r),
       tau2_del = num(inf$tau2.del), QE_del = num(inf$QE.del),
       hat = num(inf$hat), weight = num(inf$weight),
       dfbs = local({
         d <- unclass(r$dfbs)
         lapply(d[setdiff(names(d), c("slab", "digits"))], num)
       }),
       is_infl = as.logical(r$is.infl))
}

methods_all <- c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB")

# ---------------------------------------------------------------- leave-one-out
for (ds in c("bcg", "egger2001", "hackshaw1998", "raudenbush1985", "pritz1997",
             "nielweise2007", "normand1999", "molloy2014", "li2007", "hine1989",
             "baskerville2012")) {
  for (method in c("REML", "DL", "EE")) {
    run(paste("leave1out", ds, method, "z", sep = "/"), ds, "leave1out",
        sprintf('leave1out(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        list_fields, list(method = method, ci = "z"))
  }
}
for (ds in c("bcg", "raudenbush1985", "normand1999")) {
  for (method in c("REML", "PM", "SJ")) {
    run(paste("leave1out", ds, method, "knha", sep = "/"), ds, "leave1out",
        sprintf('leave1out(rma(yi, vi, data = %s, method = "%s", test = "knha"))', ds, method),
        list_fields, list(method = method, ci = "knha"))
  }
}

# ---------------------------------------------------------------- cumulative
for (ds in c("bcg", "egger2001", "hackshaw1998", "raudenbush1985",
             "nielweise2007", "molloy2014", "li2007")) {
  for (method in c("REML", "DL")) {
    run(paste("cumul", ds, method, "z", sep = "/"), ds, "cumul",
        sprintf('cumul(rma(yi, vi, data = %s, method = "%s"), order = year)', ds, method),
        list_fields, list(method = method, ci = "z", order = "year"))
  }
}
run("cumul/bcg/REML/z/exp", "bcg", "cumul",
    'cumul(rma(yi, vi, data = bcg, method = "REML"), order = year, transf = exp)',
    list_fields, list(method = "REML", ci = "z", order = "year", transf = "exp"))
run("cumul/bcg/DL/knha", "bcg", "cumul",
    'cumul(rma(yi, vi, data = bcg, method = "DL", test = "knha"), order = year)',
    list_fields, list(method = "DL", ci = "knha", order = "year"))
run("cumul/pritz1997/REML/z/none", "pritz1997", "cumul",
    'cumul(rma(yi, vi, data = pritz1997, method = "REML"))',
    list_fields, list(method = "REML", ci = "z"))

# ---------------------------------------------------------------- influence
for (ds in c("bcg", "egger2001", "hackshaw1998", "raudenbush1985", "pritz1997",
             "nielweise2007", "normand1999", "molloy2014", "li2007", "hine1989",
             "baskerville2012")) {
  for (method in c("REML", "DL", "EE")) {
    run(paste("influence", ds, method, "z", sep = "/"), ds, "influence",
        sprintf('influence(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        infl_fields, list(method = method, ci = "z"))
    run(paste("rstandard", ds, method, "z", sep = "/"), ds, "rstandard",
        sprintf('rstandard(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        function(r) list(resid = num(r$resid), se = num(r$se), z = num(r$z)),
        list(method = method, ci = "z"))
  }
}
for (ds in c("bcg", "raudenbush1985")) {
  run(paste("influence", ds, "REML", "knha", sep = "/"), ds, "influence",
      sprintf('influence(rma(yi, vi, data = %s, method = "REML", test = "knha"))', ds),
      infl_fields, list(method = "REML", ci = "knha"))
}
run("influence/bcg/REML/z/ablat", "bcg", "influence",
    'influence(rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML"))',
    infl_fields, list(method = "REML", ci = "z", mods = list("ablat")))
run("rstandard/bcg/REML/z/ablat", "bcg", "rstandard",
    'rstandard(rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML"))',
    function(r) list(resid = num(r$resid), se = num(r$se), z = num(r$z)),
    list(method = "REML", ci = "z", mods = list("ablat")))

# ---------------------------------------------------------------- GOSH
gosh_fields <- function(r) {
  incl <- r$incl
  mask <- apply(incl, 1, function(row) sum(2^(which(row) - 1)))
  list(mask = num(mask), k = num(r$res$k), QE = num(r$res$QE), I2 = num(r$res$I2),
       H2 = num(r$res$H2), tau2 = num(r$res$tau2), estimate = num(r$res$estimate))
}
for (method in c("DL", "EE", "REML")) {
  run(paste("gosh", "hine1989", method, sep = "/"), "hine1989", "gosh",
      sprintf('gosh(rma(yi, vi, data = hine1989, method = "%s"), progbar = FALSE)', method),
      gosh_fields, list(method = method))
}
run("gosh/bcg7/DL", "bcg7", "gosh",
    'gosh(rma(yi, vi, data = bcg7, method = "DL"), progbar = FALSE)',
    gosh_fields, list(method = "DL"))
run("gosh/normand1999/PM", "normand1999", "gosh",
    'gosh(rma(yi, vi, data = normand1999, method = "PM"), progbar = FALSE)',
    gosh_fields, list(method = "PM"))

# ---------------------------------------------------------------- permutation tests
perm_fields <- function(r) {
  list(pval = num(r$pval), QMp = num(r$QMp), QM = num(r$QM), zval = num(r$zval),
       beta = num(r$beta), exact_iter = num(r$exact.iter))
}
for (spec in list(c("hine1989", "DL", "z"), c("hine1989", "REML", "z"),
                  c("normand1999", "REML", "z"), c("normand1999", "DL", "knha"),
                  c("bcg", "DL", "z"), c("bcg7", "REML", "knha"))) {
  ds <- spec[1]; method <- spec[2]; test <- spec[3]
  run(paste("permutest", ds, method, test, sep = "/"), ds, "permutest",
      sprintf('permutest(rma(yi, vi, data = %s, method = "%s", test = "%s"), exact = TRUE, progbar = FALSE)',
              ds, method, test),
      perm_fields, list(method = method, ci = test))
}
run("permutest/bcg7/DL/z/ablat", "bcg7", "permutest",
    'permutest(rma(yi, vi, mods = ~ ablat, data = bcg7, method = "DL"), exact = TRUE, progbar = FALSE)',
    perm_fields, list(method = "DL", ci = "z", mods = list("ablat")))

# ---------------------------------------------------------------- funnel data
run("funnel/bcg/REML", "bcg", "funnel",
    'funnel(rma(yi, vi, data = bcg, method = "REML"), plot = FALSE)',
    function(r) list(x = num(r$x), y = num(r$y)), list(method = "REML"))

# ---------------------------------------------------------------- Egger / Begg
regtest_fields <- function(r) {
  list(zval = num(r$zval), pval = num(r$pval), dfs = num(r$dfs),
       est = if (is.null(r$est)) NA else num(r$est),
       ci_lb = if (is.null(r$ci.lb)) NA else num(r$ci.lb),
       ci_ub = if (is.null(r$ci.ub)) NA else num(r$ci.ub),
       beta = num(coef(r$fit)),
       tau2 = if (is.null(r$fit$tau2)) NA else num(r$fit$tau2))
}
for (ds in c("bcg", "egger2001", "hackshaw1998", "raudenbush1985", "pritz1997",
             "nielweise2007", "normand1999", "molloy2014", "li2007", "hine1989",
             "baskerville2012")) {
  for (method in c("REML", "DL")) {
    run(paste("regtest", ds, method, "rma", "sei", sep = "/"), ds, "regtest",
        sprintf('regtest(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        regtest_fields, list(method = method, model = "rma", predictor = "sei"))
  }
  run(paste("regtest", ds, "REML", "lm", "sei", sep = "/"), ds, "regtest",
      sprintf('regtest(rma(yi, vi, data = %s, method = "REML"), model = "lm")', ds),
      regtest_fields, list(method = "REML", model = "lm", predictor = "sei"))
  run(paste("regtest", ds, "REML", "rma", "vi", sep = "/"), ds, "regtest",
      sprintf('regtest(rma(yi, vi, data = %s, method = "REML"), predictor = "vi")', ds),
      regtest_fields, list(method = "REML", model = "rma", predictor = "vi"))
  run(paste("ranktest", ds, sep = "/"), ds, "ranktest",
      sprintf('ranktest(rma(yi, vi, data = %s))', ds),
      function(r) list(tau = num(r$tau), pval = num(r$pval)), list())
}
for (ds in c("bcg", "raudenbush1985")) {
  run(paste("regtest", ds, "REML", "rma", "sei", "knha", sep = "/"), ds, "regtest",
      sprintf('regtest(rma(yi, vi, data = %s, method = "REML", test = "knha"))', ds),
      regtest_fields, list(method = "REML", model = "rma", predictor = "sei", ci = "knha"))
}

# ---------------------------------------------------------------- trim and fill
tf_fields <- function(r) {
  c(rma_fields(r), list(k0 = num(r$k0), se_k0 = num(r$se.k0), side = r$side,
                        p_k0 = num(r$p.k0), yi = num(r$yi), vi = num(r$vi),
                        fill = as.logical(r$fill)))
}
for (ds in c("bcg", "egger2001", "hackshaw1998", "raudenbush1985", "pritz1997",
             "nielweise2007", "normand1999", "molloy2014", "li2007", "hine1989",
             "baskerville2012")) {
  for (method in c("REML", "DL", "EE")) {
    for (estimator in c("L0", "R0")) {
      run(paste("trimfill", ds, method, estimator, sep = "/"), ds, "trimfill",
          sprintf('trimfill(rma(yi, vi, data = %s, method = "%s"), estimator = "%s", %s)',
                  ds, method, estimator, CTL),
          tf_fields, list(method = method, estimator = estimator))
    }
  }
}
run("trimfill/bcg/REML/L0/right", "bcg", "trimfill",
    'trimfill(rma(yi, vi, data = bcg, method = "REML"), side = "right", control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000))',
    tf_fields, list(method = "REML", estimator = "L0", side = "right"))
run("trimfill/raudenbush1985/DL/L0/left", "raudenbush1985", "trimfill",
    'trimfill(rma(yi, vi, data = raudenbush1985, method = "DL"), side = "left", control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000))',
    tf_fields, list(method = "DL", estimator = "L0", side = "left"))

# ---------------------------------------------------------------- subgroups
sub_specs <- list(c("bcg", "alloc"), c("hackshaw1998", "design"),
                  c("raudenbush1985", "tester"), c("baskerville2012", "design"),
                  c("molloy2014", "design"))
for (spec in sub_specs) {
  ds <- spec[1]; g <- spec[2]
  levels_g <- sort(unique(as.character(get(ds, envir = data_env)[[g]])))
  for (method in c("REML", "DL")) {
    for (test in c("z", "knha")) {
      # separate tau^2: one model per group, then a fixed-effects test of the group estimates
      per <- list()
      for (lev in levels_g) {
        call <- with_ctl(sprintf('rma(yi, vi, data = %s, subset = %s == "%s", method = "%s", test = "%s")',
                                 ds, g, lev, method, test))
        per[[lev]] <- list(call = call,
                           result = rma_fields(eval(parse(text = call), envir = data_env)))
      }
      est <- sapply(per, function(p) p$result$beta)
      se <- sapply(per, function(p) p$result$se)
      assign("sub_tmp", data.frame(est = est, se = se, grp = names(per)), envir = data_env)
      btw_call <- 'rma(est, sei = se, mods = ~ grp, data = sub_tmp, method = "EE")'
      btw <- rma_fields(eval(parse(text = btw_call), envir = data_env))
      results[[length(results) + 1]] <- list(
        id = paste("subgroup", ds, g, method, test, "separate", sep = "/"),
        dataset = ds, kind = "subgroup_separate",
        call = paste0("per group: ", per[[1]]$call, " (one per level); between: ",
                      btw_call, " with est/se the per-group estimates"),
        args = list(method = method, ci = test, group = g, tau2 = "separate"),
        result = list(levels = levels_g, groups = lapply(per, function(p) p$result),
                      between = btw))
      # common tau^2: one meta-regression on the group factor
      run(paste("subgroup", ds, g, method, test, "common", "mods", sep = "/"), ds,
          "subgroup_common",
          sprintf('rma(yi, vi, mods = ~ factor(%s), data = %s, method = "%s", test = "%s")',
                  g, ds, method, test),
          rma_fields, list(method = method, ci = test, group = g, tau2 = "common"))
      run(paste("subgroup", ds, g, method, test, "common", "cell", sep = "/"), ds,
          "subgroup_common_cell",
          sprintf('rma(yi, vi, mods = ~ factor(%s) - 1, data = %s, method = "%s", test = "%s")',
                  g, ds, method, test),
          rma_fields, list(method = method, ci = test, group = g, tau2 = "common"))
    }
  }
}

# ---------------------------------------------------------------- meta-regression
mr_specs <- list(
  list(ds = "bcg", f = "~ ablat", mods = list("ablat")),
  list(ds = "bcg", f = "~ ablat + year", mods = list("ablat", "year")),
  list(ds = "raudenbush1985", f = "~ weeks", mods = list("weeks")),
  list(ds = "molloy2014", f = "~ meanage", mods = list("meanage")),
  list(ds = "baskerville2012", f = "~ blind + alloconc + duration",
       mods = list("blind", "alloconc", "duration")),
  list(ds = "hackshaw1998", f = "~ year", mods = list("year")),
  list(ds = "nielweise2007", f = "~ year", mods = list("year")))
for (spec in mr_specs) {
  for (method in methods_all) {
    for (test in c("z", "knha")) {
      run(paste("metareg", spec$ds, spec$f, method, test, sep = "/"), spec$ds, "metareg",
          sprintf('rma(yi, vi, mods = %s, data = %s, method = "%s", test = "%s")',
                  spec$f, spec$ds, method, test),
          rma_fields, list(method = method, ci = test, mods = spec$mods))
    }
  }
}
run("metareg/bcg/~ ablat/REML/z/tau2fixed", "bcg", "metareg",
    'rma(yi, vi, mods = ~ ablat, data = bcg, tau2 = 0.05)',
    rma_fields, list(method = "REML", ci = "z", mods = list("ablat"), tau2 = 0.05))
run("metareg/bcg/~ ablat/REML/adhoc", "bcg", "metareg",
    'rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", test = "adhoc")',
    rma_fields, list(method = "REML", ci = "adhoc", mods = list("ablat")))
run("metareg/bcg/~ ablat/REML/z/btt", "bcg", "metareg_btt",
    'rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", btt = 2)',
    rma_fields, list(method = "REML", ci = "z", mods = list("ablat", "year"), btt = list(1)))

# ---------------------------------------------------------------- small k (k = 2 and k = 3)
for (ds in c("bcg3", "bcg2")) {
  for (method in c("REML", "DL")) {
    run(paste("leave1out", ds, method, "z", sep = "/"), ds, "leave1out",
        sprintf('leave1out(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        list_fields, list(method = method, ci = "z"))
    run(paste("cumul", ds, method, "z", sep = "/"), ds, "cumul",
        sprintf('cumul(rma(yi, vi, data = %s, method = "%s"), order = year)', ds, method),
        list_fields, list(method = method, ci = "z", order = "year"))
    run(paste("influence", ds, method, "z", sep = "/"), ds, "influence",
        sprintf('influence(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        infl_fields, list(method = method, ci = "z"))
    run(paste("rstandard", ds, method, "z", sep = "/"), ds, "rstandard",
        sprintf('rstandard(rma(yi, vi, data = %s, method = "%s"))', ds, method),
        function(r) list(resid = num(r$resid), se = num(r$se), z = num(r$z)),
        list(method = method, ci = "z"))
    run(paste("gosh", ds, method, sep = "/"), ds, "gosh",
        sprintf('gosh(rma(yi, vi, data = %s, method = "%s"), progbar = FALSE)', ds, method),
        gosh_fields, list(method = method))
    run(paste("permutest", ds, method, "z", sep = "/"), ds, "permutest",
        sprintf('permutest(rma(yi, vi, data = %s, method = "%s"), exact = TRUE, progbar = FALSE)', ds, method),
        perm_fields, list(method = method, ci = "z"))
  }
}
for (method in c("REML", "DL", "EE")) {
  run(paste("trimfill", "bcg3", method, "L0", sep = "/"), "bcg3", "trimfill",
      sprintf('trimfill(rma(yi, vi, data = bcg3, method = "%s"), estimator = "L0", %s)', method, CTL),
      tf_fields, list(method = method, estimator = "L0"))
  run(paste("regtest", "bcg3", method, "rma", "sei", sep = "/"), "bcg3", "regtest",
      sprintf('regtest(rma(yi, vi, data = bcg3, method = "%s"))', method),
      regtest_fields, list(method = method, model = "rma", predictor = "sei"))
  for (test in c("z", "knha")) {
    run(paste("metareg", "bcg3", "~ ablat", method, test, sep = "/"), "bcg3", "metareg",
        sprintf('rma(yi, vi, mods = ~ ablat, data = bcg3, method = "%s", test = "%s")', method, test),
        rma_fields, list(method = method, ci = test, mods = list("ablat")))
  }
}
run("regtest/bcg3/REML/lm/sei", "bcg3", "regtest",
    'regtest(rma(yi, vi, data = bcg3, method = "REML"), model = "lm")',
    regtest_fields, list(method = "REML", model = "lm", predictor = "sei"))
run("ranktest/bcg3", "bcg3", "ranktest", 'ranktest(rma(yi, vi, data = bcg3))',
    function(r) list(tau = num(r$tau), pval = num(r$pval)), list())
run("permutest/bcg7/REML/knha/ablat", "bcg7", "permutest",
    'permutest(rma(yi, vi, mods = ~ ablat, data = bcg7, method = "REML", test = "knha"), exact = TRUE, progbar = FALSE)',
    perm_fields, list(method = "REML", ci = "knha", mods = list("ablat")))

# ---------------------------------------------------------------- write
meta <- list(metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             R = R.version.string, script = "tests/reference/sensitivity.R")
# jsonlite prints at most 15 significant digits, so numbers are written here at 17.
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    parts <- vapply(x, to_json, character(1))
    if (!is.null(names(x))) {
      keys <- vapply(names(x), function(n) as.character(toJSON(n, auto_unbox = TRUE)), character(1))
      return(paste0("{", paste0(keys, ":", parts, collapse = ","), "}"))
    }
    return(paste0("[", paste(parts, collapse = ","), "]"))
  }
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) {
    v <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.numeric(x)) {
    v <- ifelse(is.finite(x), sprintf("%.17g", x), "null")
  } else {
    v <- vapply(as.character(x), function(s) if (is.na(s)) "null" else
      as.character(toJSON(s, auto_unbox = TRUE)), character(1), USE.NAMES = FALSE)
  }
  if (length(v) == 1L) v else paste0("[", paste(v, collapse = ","), "]")
}
json <- to_json(list(meta = meta, datasets = datasets, results = results))
writeLines(json, out_path)
cat("wrote", length(results), "results to", out_path, "\n")
