"""A full disk while results are written: the results folder on a 320 KiB tmpfs (each
task file is about 18 KiB) that already holds 10 stored tasks; the 30-task study then
fills it. Expected: a non-zero exit status (not a crash), an error naming the file that
could not be written, no unreadable file under a final name, the 10 earlier task files
byte-identical, and after space is freed a rerun completes the study, leaves no
temporary file and equals an uninterrupted run. Needs root (mount); skipped otherwise."""
import hashlib, os, subprocess
from faultlib import *

work = workdir("fault_diskfull")
mnt = f"{work}/disk"
os.makedirs(mnt)
if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", mnt], capture_output=True).returncode:
    print("SKIP: cannot mount a size-limited tmpfs (needs root)")
    sys.exit(77)
try:
    many_model(f"{work}/model.safetensors")
    job = study_job(f"{work}/job.yaml", f"{work}/unused", f"{work}/model.safetensors")
    first = study_job(f"{work}/first.yaml", f"{work}/unused", f"{work}/model.safetensors", extra="tensors: {include: ['layer0*']}")
    out = f"{mnt}/results"
    code, _, err = specdyn(["run", first, "-o", out], timeout=120)
    check(code == 0, f"the first 10 tasks should fit: exit {code}\n{err}")
    before = {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in glob.glob(f"{out}/tasks/*.h5")}

    code, _, err = specdyn(["run", job, "-o", out], timeout=120)
    df = subprocess.run(["df", "-k", mnt], capture_output=True, text=True).stdout
    check("100%" in df or "No space left" in err, f"the disk should have filled up:\n{df}")
    check_readable(out, "disk full")
    for p, h in before.items():
        check(os.path.exists(p) and hashlib.sha256(open(p, "rb").read()).hexdigest() == h, f"{p}: a task stored earlier changed")
    n = len(glob.glob(f"{out}/tasks/*.h5"))
    print(f"disk full: exit {code}, {n} task files stored, earlier {len(before)} intact")
    check(code > 0, f"a full disk must end with a non-zero exit status, not a crash (status {code})\n{err[-3000:]}")
    check(".h5" in err and ("No space left" in err or "disk" in err), f"the error must name the file and the cause\n{err[-3000:]}")

    # free space, rerun: the study completes and equals an uninterrupted run
    subprocess.run(["mount", "-o", "remount,size=4m", mnt], check=True)
    code, _, err = specdyn(["run", job, "-o", out], timeout=120)
    check(code == 0, f"rerun after freeing space: exit {code}\n{err}")
    check(not leftovers(out), f"temporary files after the rerun: {leftovers(out)}")
    code, _, err = specdyn(["run", job, "-o", f"{work}/clean"], timeout=120)
    check(code == 0, f"uninterrupted run: exit {code}\n{err}")
    compare_results(f"{work}/clean", out, "after the disk-full run", skip={"job_text"})  # 10 tasks came from first.yaml
    print("rerun after freeing space equals an uninterrupted run")
finally:
    subprocess.run(["umount", mnt])
