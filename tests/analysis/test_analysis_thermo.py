import numpy as np
import pytest

from harness.io.thermo import read_thermo
from harness.units import BAR_TO_GPA

HEADER = (
    "# Time-averaged data for fix thermo_out\n"
    "# TimeStep c_thermo_temp c_thermo_pe c_ke c_thermo_press c_thermo_press[1] "
    "c_thermo_press[2] c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] "
    "c_thermo_press[6] v_vol\n"
)


def row(step, temp, press):
    # pe = -step, ke = 1, pxx..pyz distinct multiples of press, vol 1000
    return (f"{step} {temp} {-float(step)} 1.0 {press} {press} {2 * press} {3 * press} "
            f"1 2 3 1000.0\n")


def test_restart_repeated_header_and_duplicated_steps(tmp_path):
    path = tmp_path / "thermo.dat"
    text = (HEADER + row(0, 300, 10000) + row(10, 301, 20000) + row(20, 302, 30000)
            # restart from step 10: header again, steps 10 and 20 rewritten
            + HEADER + row(10, 401, 40000) + row(20, 402, 50000) + row(30, 403, 60000)
            + "40 1.0 2.0")  # truncated last line of a killed run
    path.write_text(text)
    th = read_thermo(path, timestep_fs=2.0)
    np.testing.assert_array_equal(th["step"], [0, 10, 20, 30])
    # last occurrence wins
    np.testing.assert_allclose(th["temperature_K"], [300, 401, 402, 403])
    np.testing.assert_allclose(th["time_ps"], [0.0, 0.02, 0.04, 0.06])
    # bar -> GPa
    np.testing.assert_allclose(th["pressure_GPa"], [1.0, 4.0, 5.0, 6.0])
    np.testing.assert_allclose(th["pyy_GPa"], [2.0, 8.0, 10.0, 12.0])
    np.testing.assert_allclose(th["pzz_GPa"], [3.0, 12.0, 15.0, 18.0])
    np.testing.assert_allclose(th["pxz_GPa"], 2 * BAR_TO_GPA)
    np.testing.assert_allclose(th["etotal_eV"], th["pe_eV"] + th["ke_eV"])
    np.testing.assert_allclose(th["etotal_eV"], [1.0, -9.0, -19.0, -29.0])
    np.testing.assert_allclose(th["volume_A3"], 1000.0)


def test_bar_to_gpa_constant():
    # 1 bar = 1e5 Pa, 1 GPa = 1e9 Pa
    assert BAR_TO_GPA == pytest.approx(1e5 / 1e9)


def test_headerless_file_uses_documented_order(tmp_path):
    path = tmp_path / "thermo.dat"
    path.write_text(row(5, 250, 1e4))
    th = read_thermo(path, timestep_fs=1.0)
    assert th["step"].tolist() == [5]
    assert th["temperature_K"][0] == 250
    assert th["pressure_GPa"][0] == pytest.approx(1.0)
