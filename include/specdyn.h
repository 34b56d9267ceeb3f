/* specdyn.h - the public API of libspecdyn: every layer of DESIGN.md section 2. */
#pragma once
#include <specdyn/sys.h>
#include <specdyn/reader.h>
#include <specdyn/operator.h>
#include <specdyn/svd.h>
#include <specdyn/eig.h>
#include <specdyn/data.h>
#include <specdyn/model.h>
#include <specdyn/train.h>
#include <specdyn/jacobian.h>
#include <specdyn/metrics.h>
#include <specdyn/alignment.h>
#include <specdyn/job.h>
#include <specdyn/store.h>
#include <specdyn/compare.h>
#include <specdyn/analysis.h>
