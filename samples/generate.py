"""Write the sample AAS packages of this folder (and synthetic ones for benchmarks).

    python samples/generate.py                      # drone.aasx, ebike-drive.aasx, control-cabinet.aasx
    python samples/generate.py --synthetic 40 --seed 3 --out /tmp/bom40.aasx

Each package holds a product shell (BomOptimizationRequest + one ComponentVariants per position)
and one shell per supplier (SupplierOffers). Figures are plausible catalogue values, not quotes.
The random streams are seeded, so the packages are reproducible.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas.elements import ref
from aas_quantum.aas.files import write_aasx
from aas_quantum.aas.mapping import catalog_objects, position_submodel
from aas_quantum.catalog import (
    Catalog,
    ObjectiveWeights,
    Offer,
    PositionSpec,
    PriceBreak,
    Request,
    SolverPreferences,
    Supplier,
    Variant,
)
from aas_quantum.synthetic import synthetic_catalog

HERE = Path(__file__).resolve().parent
ROHS_REACH = ("RoHS", "REACH")


def variant(part: str, maker: str, text: str, kg: float, perf: float, co2: float,
            compliance: tuple[str, ...] = ROHS_REACH, incompatible: tuple[str, ...] = (),
            requires: tuple[str, ...] = ()) -> Variant:
    return Variant(part, maker, text,
                   ((contract.CO2E_PER_UNIT, co2), (contract.PERFORMANCE, perf), (contract.UNIT_WEIGHT, kg)),
                   compliance, f"urn:aas-quantum:sample:asset:{part}", incompatible, requires)


def supplier(sid: str, name: str, country: str, risk: float, certs: tuple[str, ...],
             offers: list[Offer]) -> Supplier:
    return Supplier(sid, name, country, risk, certs, tuple(offers))


# --------------------------------------------------------------------------- quadcopter drone


def drone() -> Catalog:
    """A 5-inch FPV/inspection quadcopter: 6 positions, 2-3 options each (15 binary options)."""
    positions = (
        PositionSpec("0010", "Frame, carbon 5 inch", 1, "C62", variants=(
            variant("FRM-CF5-220", "Armada Frames", "Carbon frame 220 mm, 5 mm arms", 0.118, 6.0, 2.9),
            variant("FRM-CF5-250", "Armada Frames", "Carbon frame 250 mm, 6 mm arms, large battery bay",
                    0.146, 7.5, 3.4),
        )),
        PositionSpec("0020", "Brushless motor", 4, "C62", variants=(
            variant("MOT-2207-1750", "T-Drive", "Brushless motor 2207 1750KV", 0.033, 8.0, 1.1),
            variant("MOT-2306-2400", "Emax-Tech", "Brushless motor 2306 2400KV", 0.031, 8.6, 1.0),
            variant("MOT-2207-1950", "iFly Motors", "Brushless motor 2207 1950KV", 0.034, 7.2, 0.9),
        )),
        PositionSpec("0030", "ESC 4-in-1", 1, "C62", variants=(
            variant("ESC-4IN1-45A", "HobbyPower", "4-in-1 ESC 45 A BLHeli32", 0.014, 6.5, 0.6,
                    incompatible=("MOT-2306-2400",)),
            variant("ESC-4IN1-55A", "HobbyPower", "4-in-1 ESC 55 A BLHeli32", 0.017, 8.0, 0.7),
            variant("ESC-4IN1-60A", "SpeedyBee-Tech", "4-in-1 ESC 60 A, current sensor", 0.019, 8.8, 0.8),
        )),
        PositionSpec("0040", "Flight controller", 1, "C62", variants=(
            variant("FC-F7-MINI", "Matek-Tech", "Flight controller F7, 30.5 mm", 0.008, 7.0, 0.4),
            variant("FC-H7-PRO", "Matek-Tech", "Flight controller H7, dual gyro", 0.009, 9.0, 0.5),
        )),
        PositionSpec("0050", "LiPo battery 6S", 2, "C62", variants=(
            variant("BAT-6S-1100", "Tattu-Cell", "LiPo 6S 1100 mAh 120C", 0.178, 5.5, 2.2),
            variant("BAT-6S-1300", "Tattu-Cell", "LiPo 6S 1300 mAh 120C", 0.205, 7.0, 2.6),
            variant("BAT-6S-1500", "CNHL-Power", "LiPo 6S 1500 mAh 100C", 0.238, 8.2, 3.0,
                    requires=("FRM-CF5-250",)),
        )),
        PositionSpec("0060", "Propeller set (4 pcs)", 2, "SET", variants=(
            variant("PRP-5143-3", "Gemfan-Tech", "Propeller 5.1x4.3 tri-blade, 4 pcs", 0.018, 7.0, 0.2),
            variant("PRP-5136-3", "HQProp-Tech", "Propeller 5.1x3.6 tri-blade, 4 pcs", 0.017, 6.0, 0.2),
        )),
    )
    o = Offer
    suppliers = (
        supplier("SUP-SKYPARTS", "SkyParts GmbH", "DE", 0.10, ("ISO 9001",), [
            o("FRM-CF5-220", 39.0, "EUR", 1, 5), o("FRM-CF5-250", 49.0, "EUR", 1, 5),
            o("FC-H7-PRO", 64.0, "EUR", 1, 7), o("BAT-6S-1300", 36.5, "EUR", 2, 10),
        ]),
        supplier("SUP-FLYTECH", "Shenzhen FlyTech Co., Ltd.", "CN", 0.35, ("ISO 9001",), [
            o("MOT-2306-2400", 16.9, "EUR", 4, 21, None, (PriceBreak(20, 15.2),)),
            o("MOT-2207-1950", 14.5, "EUR", 8, 21),
            o("ESC-4IN1-45A", 38.0, "EUR", 1, 21), o("PRP-5136-3", 2.4, "EUR", 10, 21),
            o("BAT-6S-1100", 27.0, "EUR", 2, 25),
        ]),
        supplier("SUP-AEROCOMP", "AeroComponents Ltd", "GB", 0.15, ("ISO 9001", "AS9100"), [
            o("MOT-2207-1750", 21.5, "EUR", 1, 10), o("ESC-4IN1-55A", 54.0, "EUR", 1, 10),
            o("ESC-4IN1-60A", 61.0, "EUR", 1, 12), o("FC-F7-MINI", 42.0, "EUR", 1, 10),
        ]),
        supplier("SUP-NORDDRONE", "NordDrone AB", "SE", 0.12, ("ISO 9001", "ISO 14001"), [
            o("BAT-6S-1500", 41.0, "EUR", 1, 8), o("PRP-5143-3", 3.9, "EUR", 1, 4),
        ]),
    )
    request = Request(
        product_id="urn:aas-quantum:sample:drone:QX5-Inspect", currency="EUR",
        max_total_weight_kg=0.68, min_total_performance=82.0, max_lead_time_days=30,
        required_compliance=("RoHS",), weights=ObjectiveWeights(co2_price_per_kg=0.1, concentration=4.0),
        solver=SolverPreferences(method="auto", reps=2, shots=4096, qubit_budget=20, time_limit_s=60.0, seed=7),
    )
    return Catalog(request, positions, suppliers)


# --------------------------------------------------------------------------- tables -> catalogue


def from_table(
    table: list[tuple[str, float, str, list[tuple[str, str, str, float, float]]]],
    suppliers: list[tuple[str, str, str, float, tuple[str, ...]]], request: Request, seed: int,
    offers_per_variant: tuple[int, int] = (1, 1),
) -> Catalog:
    """Positions from rows (designation, quantity, unit, [(part, maker, text, kg, list price)]).

    Performance, CO2, lead times, MOQs and price breaks are drawn from a seeded stream around
    the catalogue figures; each variant is offered by ``offers_per_variant`` suppliers.
    """
    rng = np.random.default_rng(seed)
    offers: dict[str, list[Offer]] = {s[0]: [] for s in suppliers}
    positions = []
    for i, (designation, qty, unit, rows) in enumerate(table):
        variants = []
        for part, maker, text, kg, price in rows:
            perf = round(float(np.clip(price / max(r[4] for r in rows) * 10 + rng.normal(0, 0.8), 1, 10)), 1)
            co2 = round(kg * float(rng.uniform(4, 14)) + 0.05, 3)
            variants.append(variant(part, maker, text, kg, perf, co2))
            n_offers = int(rng.integers(offers_per_variant[0], offers_per_variant[1] + 1))
            for sid in rng.choice([s[0] for s in suppliers], size=n_offers, replace=False):
                factor = float(rng.uniform(0.88, 1.12))
                moq = float(rng.choice([1, 1, 1, 5, 10, 25])) if qty < 50 else float(rng.choice([100, 250]))
                breaks = (PriceBreak(max(moq * 4, 50), round(price * factor * 0.9, 2)),) \
                    if rng.random() < 0.35 else ()
                offers[str(sid)].append(Offer(part, round(price * factor, 2), "EUR", moq,
                                              float(rng.choice([3, 5, 7, 10, 14, 21, 28, 42])), None, breaks))
        positions.append(PositionSpec(f"{(i + 1) * 10:04d}", designation, qty, unit, variants=tuple(variants)))
    sup = tuple(supplier(sid, name, country, risk, certs, offers[sid])
                for sid, name, country, risk, certs in suppliers if offers[sid])
    return Catalog(request, tuple(positions), sup)


def with_incompatibility(catalog: Catalog, part: str, other: str) -> Catalog:
    positions = tuple(
        PositionSpec(p.position_id, p.designation, p.quantity, p.unit, p.min_performance, tuple(
            Variant(v.part_number, v.manufacturer, v.designation, v.attributes, v.compliance, v.asset_id,
                    v.incompatible_with + ((other,) if v.part_number == part else ()), v.requires)
            for v in p.variants))
        for p in catalog.positions)
    return Catalog(catalog.request, positions, catalog.suppliers)


def ebike() -> Catalog:
    """Mid-drive e-bike unit: 15 positions, 3-6 options, 6 suppliers."""
    t = [
        ("Motor stator assembly", 1, "C62", [("STA-250-36P", "Bafang-Tech", "Stator 36 slot 250 W", 1.15, 48.0),
                                             ("STA-250-48P", "Tongsheng-Tech", "Stator 48 slot 250 W", 1.02, 61.0),
                                             ("STA-250-36H", "Brose-Parts", "Stator 36 slot hairpin", 0.97, 74.0)]),
        ("Rotor with magnets", 1, "C62", [("ROT-N42-14", "Magnequench-Tech", "Rotor N42 14 pole", 0.62, 39.0),
                                          ("ROT-N45-14", "Magnequench-Tech", "Rotor N45 14 pole", 0.58, 47.0),
                                          ("ROT-N52-16", "Arnold-Mag", "Rotor N52 16 pole", 0.55, 63.0)]),
        ("Planetary gearbox", 1, "C62", [("GBX-PL-1-36", "Neugart-Tech", "Planetary 1:36 steel", 0.71, 58.0),
                                         ("GBX-PL-1-36N", "Nidec-Parts", "Planetary 1:36 nylon", 0.49, 44.0),
                                         ("GBX-HD-1-38", "HarmonicTec", "Strain-wave 1:38", 0.42, 96.0),
                                         ("GBX-PL-1-32", "Neugart-Tech", "Planetary 1:32 steel", 0.69, 52.0)]),
        ("Motor controller 36 V", 1, "C62", [("CTL-36V-20A", "Infineon-Mod", "FOC controller 36 V 20 A", 0.19,
                                              35.0),
                                             ("CTL-36V-25A", "STMicro-Mod", "FOC controller 36 V 25 A", 0.21, 42.0),
                                             ("CTL-36V-30A", "TI-Mod", "FOC controller 36 V 30 A, CAN", 0.23, 55.0)]),
        ("Torque sensor", 1, "C62", [("TSE-BB-MAG", "NCTE-Tech", "Magnetostrictive BB torque sensor", 0.16, 39.0),
                                     ("TSE-BB-SG", "HBK-Sense", "Strain-gauge BB torque sensor", 0.14, 52.0),
                                     ("TSE-BB-HALL", "Sensata-Tech", "Hall cadence + torque", 0.12, 24.0)]),
        ("Housing, die-cast", 1, "C62", [("HSG-AL-ADC12", "Georg-Fischer-Cast", "Housing AlSi ADC12", 0.95, 31.0),
                                         ("HSG-MG-AZ91", "Meridian-Cast", "Housing magnesium AZ91", 0.64, 49.0),
                                         ("HSG-AL-A380", "Nemak-Cast", "Housing A380 thin-wall", 0.88, 35.0)]),
        ("Main bearing 6805", 2, "C62", [("BRG-6805-2RS", "SKF-Parts", "Deep groove 6805-2RS", 0.022, 4.1),
                                         ("BRG-6805-ZZ", "NSK-Parts", "Deep groove 6805-ZZ", 0.022, 3.2),
                                         ("BRG-6805-HYB", "Schaeffler-P", "Hybrid ceramic 6805", 0.019, 11.5)]),
        ("Crank spindle ISIS", 1, "C62", [("SPD-ISIS-CRMO", "Bafang-Tech", "Spindle ISIS CrMo", 0.31, 12.0),
                                          ("SPD-ISIS-TI", "Tongsheng-Tech", "Spindle ISIS titanium", 0.19, 38.0),
                                          ("SPD-ISIS-AL", "Brose-Parts", "Spindle ISIS 7075", 0.22, 21.0)]),
        ("Chainring 42T", 1, "C62", [("CRG-42-AL", "Samox-Tech", "Chainring 42T 7075", 0.11, 14.0),
                                     ("CRG-42-ST", "Samox-Tech", "Chainring 42T steel", 0.19, 8.5),
                                     ("CRG-42-NW", "Race-Face-P", "Chainring 42T narrow-wide", 0.10, 22.0)]),
        ("Battery cells 21700", 40, "C62", [("CEL-21700-50E", "Samsung-Cell", "21700 5000 mAh", 0.069, 3.6),
                                            ("CEL-21700-M50", "LG-Cell", "21700 M50LT 4950 mAh", 0.069, 3.4),
                                            ("CEL-21700-P45", "Molicel-Tech", "21700 P45B 4500 mAh", 0.070, 4.2),
                                            ("CEL-21700-JP40", "EVE-Cell", "21700 40PL 4000 mAh", 0.067, 2.6)]),
        ("Battery management system", 1, "C62", [("BMS-10S-25A", "Daly-Tech", "BMS 10S 25 A", 0.06, 14.0),
                                                 ("BMS-10S-30A-CAN", "Texas-BMS", "BMS 10S 30 A CAN", 0.07, 29.0),
                                                 ("BMS-10S-20A", "JBD-Tech", "BMS 10S 20 A", 0.05, 9.5)]),
        ("Display HMI", 1, "C62", [("HMI-LCD-C18", "King-Meter", "Colour LCD 2.2 inch", 0.09, 27.0),
                                   ("HMI-LED-C7", "King-Meter", "LED remote, 5 levels", 0.04, 12.0),
                                   ("HMI-TFT-35", "Bafang-Tech", "TFT 3.5 inch, BLE", 0.12, 44.0)]),
        ("Wiring harness", 1, "C62", [("HAR-MAIN-1T4", "Higo-Conn", "Main harness 1T4 IP67", 0.14, 11.0),
                                      ("HAR-MAIN-1T5", "Julet-Conn", "Main harness 1T5 IP65", 0.15, 8.0),
                                      ("HAR-MAIN-CAN", "TE-Conn", "CAN harness IP68", 0.13, 17.5)]),
        ("Speed sensor", 1, "C62", [("SPS-REED", "Bafang-Tech", "Reed spoke magnet sensor", 0.03, 4.0),
                                    ("SPS-HALL", "Honeywell-S", "Hall speed sensor", 0.03, 6.5),
                                    ("SPS-DISC", "Bosch-Compat", "Disc-rotor speed sensor", 0.04, 9.0)]),
        ("Fasteners kit", 1, "SET", [("FST-KIT-A2", "Wurth-Parts", "Stainless A2 kit, 48 pcs", 0.16, 6.2),
                                     ("FST-KIT-TI", "Ti-Bolts", "Titanium kit, 48 pcs", 0.09, 31.0),
                                     ("FST-KIT-88", "Bossard-P", "8.8 zinc flake kit, 48 pcs", 0.18, 4.4)]),
    ]
    suppliers = [
        ("SUP-DRIVETECH", "DriveTech Components GmbH", "DE", 0.10, ("ISO 9001", "IATF 16949")),
        ("SUP-ASIAMOTION", "Asia Motion Industrial Ltd.", "CN", 0.40, ("ISO 9001",)),
        ("SUP-CELLSOURCE", "CellSource Europe B.V.", "NL", 0.20, ("ISO 9001", "ISO 14001")),
        ("SUP-ALPCAST", "AlpCast Metallguss AG", "AT", 0.15, ("ISO 9001", "IATF 16949")),
        ("SUP-POLYELEC", "PolyElectronics Sp. z o.o.", "PL", 0.18, ("ISO 9001",)),
        ("SUP-TAIWANBIKE", "Taiwan Bike Parts Co.", "TW", 0.25, ("ISO 9001",)),
    ]
    request = Request(
        product_id="urn:aas-quantum:sample:ebike:MidDrive-250", currency="EUR", max_total_weight_kg=7.6,
        min_total_performance=88.0, max_lead_time_days=35, required_compliance=("RoHS", "REACH"),
        max_positions_per_supplier=5, weights=ObjectiveWeights(co2_price_per_kg=0.08, concentration=1.5),
        solver=SolverPreferences(method="hybrid", reps=2, shots=4096, qubit_budget=20, time_limit_s=60.0, seed=7),
    )
    catalog = from_table(t, suppliers, request, seed=2, offers_per_variant=(1, 2))
    return with_incompatibility(catalog, "HSG-MG-AZ91", "GBX-PL-1-36")


def control_cabinet() -> Catalog:
    """Robot-cell control cabinet: 64 positions, 4-10 options, 12 suppliers."""
    rng = np.random.default_rng(11)
    makers = ["Phoenix-Tech", "Siemens-Parts", "Schneider-Comp", "ABB-Parts", "Eaton-Comp", "Wago-Tech",
              "Rittal-Tech", "Weidmann-Conn", "Finder-Relays", "Omron-Parts", "Pilz-Safety", "Lapp-Cable"]
    families = [
        ("Terminal block", "TB", [("2.5 mm2 push-in", 0.007, 0.55), ("4 mm2 push-in", 0.009, 0.72),
                                  ("2.5 mm2 screw", 0.008, 0.42), ("6 mm2 screw", 0.013, 0.95)], (40, 120)),
        ("Miniature circuit breaker", "MCB", [("B6 1P", 0.11, 6.8), ("B10 1P", 0.11, 6.9),
                                              ("C16 1P", 0.12, 7.4), ("C16 3P", 0.34, 24.0)], (2, 8)),
        ("Contactor", "CT", [("9 A 24 VDC", 0.32, 28.0), ("12 A 24 VDC", 0.34, 33.0),
                             ("18 A 24 VDC", 0.45, 46.0)], (1, 4)),
        ("Relay module", "RL", [("1 CO 24 VDC", 0.03, 7.5), ("2 CO 24 VDC", 0.04, 9.8),
                                ("solid state 3 A", 0.05, 17.0)], (4, 16)),
        ("Power supply", "PS", [("24 V 5 A", 0.55, 79.0), ("24 V 10 A", 0.9, 139.0), ("24 V 20 A", 1.5, 259.0)],
         (1, 2)),
        ("Safety relay", "SR", [("E-stop 2 ch", 0.2, 129.0), ("light curtain", 0.22, 168.0)], (1, 2)),
        ("Cable duct", "DU", [("40x60 grey", 0.45, 6.2), ("60x80 grey", 0.62, 8.9)], (4, 10)),
        ("Control cable", "CB", [("7G0.75 shielded, m", 0.11, 2.1), ("12G0.5, m", 0.13, 2.6),
                                 ("4G1.5 PUR, m", 0.16, 2.4)], (50, 200)),
        ("Fan filter unit", "FAN", [("55 m3/h 24 VDC", 0.7, 64.0), ("105 m3/h 230 VAC", 1.0, 92.0)], (1, 2)),
        ("PLC I/O module", "IO", [("16 DI", 0.12, 118.0), ("16 DO", 0.13, 129.0), ("8 AI", 0.14, 249.0)],
         (1, 4)),
    ]
    table = []
    for i in range(64):
        name, code, ratings, qty_range = families[i % len(families)]
        rating_text, kg, price = ratings[(i // len(families)) % len(ratings)]
        n_variants = int(rng.integers(4, 11))
        chosen = rng.choice(makers, size=n_variants, replace=False)
        qty = float(rng.integers(qty_range[0], qty_range[1] + 1))
        unit = "MTR" if code == "CB" else "C62"
        rows = [(f"{code}-{str(m)[:3].upper()}-{i + 1:02d}{j}", str(m), f"{name} {rating_text}",
                 round(kg * float(rng.uniform(0.85, 1.2)), 3), round(price * float(rng.uniform(0.75, 1.35)), 2))
                for j, m in enumerate(chosen)]
        table.append((f"{name} {rating_text}", qty, unit, rows))
    countries = ["DE", "DE", "FR", "CH", "IE", "DE", "DE", "DE", "IT", "JP", "DE", "DE"]
    suppliers = [(f"SUP-{m.split('-')[0].upper()}", f"{m.split('-')[0]} Distribution", countries[k],
                  round(0.05 + 0.03 * k, 2), ("ISO 9001",)) for k, m in enumerate(makers)]
    request = Request(
        product_id="urn:aas-quantum:sample:cabinet:RobotCell-RC7", currency="EUR", max_lead_time_days=42,
        required_compliance=("RoHS",),
        max_positions_per_supplier=9, weights=ObjectiveWeights(co2_price_per_kg=0.05, concentration=4.0),
        solver=SolverPreferences(method="hybrid", reps=1, shots=4096, qubit_budget=20, time_limit_s=60.0, seed=7),
    )
    catalog = from_table(table, suppliers, request, seed=5, offers_per_variant=(1, 1))
    first, second = catalog.positions[1].variants[0].part_number, catalog.positions[2].variants[0].part_number
    return with_incompatibility(catalog, first, second)


# ---------------------------------------------------------- conveyor drive modelled with IDTA templates

IDTA_HS = "https://admin-shell.io/idta/HierarchicalStructures/"
CONVEYOR = "urn:aas-quantum:sample:conveyor-drive"

# component asset -> (part number, manufacturer, designation, kg); Nameplate 3.0 + Technical Data carry them
COMPONENTS = {
    "motor-ie3-075": ("MOT-IE3-0.75-4P", "Elmotec", "Three-phase motor IE3 0.75 kW 4-pole", 9.8),
    "motor-ie4-075": ("MOT-IE4-0.75-4P", "Elmotec", "Three-phase motor IE4 0.75 kW 4-pole", 10.6),
    "motor-pm-075": ("PMM-075-3000", "Kinetiq Drives", "Permanent-magnet synchronous motor 0.75 kW", 6.9),
    "coupling-jaw-24": ("CPL-JAW-24", "Flexon", "Jaw coupling size 24, elastomer spider 92 ShA", 0.42),
    "coupling-disc-24": ("CPL-DSC-24", "Flexon", "Disc coupling size 24, steel lamella", 0.55),
    "sensor-ind-m12": ("IND-M12-4-PNP", "Sensatek", "Inductive sensor M12, 4 mm, PNP", 0.045),
    "sensor-ind-m18": ("IND-M18-8-PNP", "Sensatek", "Inductive sensor M18, 8 mm, PNP", 0.07),
    "sensor-ind-m12-io": ("IND-M12-4-IOL", "Proxima", "Inductive sensor M12, 4 mm, IO-Link", 0.05),
    "gearbox-helical": ("GBX-HEL-20", "Geartec", "Helical gearbox i=20", 7.4),
    "gearbox-worm": ("GBX-WRM-20", "Geartec", "Worm gearbox i=20", 5.2),
    "vfd-075": ("VFD-075-400", "Elmotec", "Frequency inverter 0.75 kW 400 V", 1.3),
    "vfd-075-safe": ("VFD-075-400-STO", "Elmotec", "Frequency inverter 0.75 kW 400 V, safe torque off", 1.4),
}


def _asset(name: str) -> str:
    return f"{CONVEYOR}:component:{name}"


def _mlp(id_short: str, semantic_id: str, text: str) -> model.MultiLanguageProperty:
    return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType({"en": text}),
                                       semantic_id=ref(semantic_id))


def _property(id_short: str, semantic_id: str, value: object, value_type: type = model.datatypes.String
              ) -> model.Property:
    return model.Property(id_short, value_type, value, semantic_id=ref(semantic_id))


def component_objects(name: str) -> list[model.Identifiable]:
    """A component's own AAS: a Digital Nameplate 3.0 and a Technical Data submodel (weight by ECLASS IRDI)."""
    part, maker, text, kg = COMPONENTS[name]
    shell_id = f"{CONVEYOR}:component:{name}:aas"
    nameplate = model.Submodel(f"{shell_id}/sm/Nameplate", id_short="Nameplate",
                               semantic_id=ref("https://admin-shell.io/idta/nameplate/3/0/Nameplate"),
                               submodel_element=[
        _mlp("ManufacturerName", "0112/2///61987#ABA565#009", maker),
        _mlp("ManufacturerProductDesignation", "0112/2///61987#ABA567#009", text),
        _property("ProductArticleNumberOfManufacturer", "0112/2///61987#ABA581#007", part),
        _property("OrderCodeOfManufacturer", "0112/2///61987#ABA950#008", part.replace("-", "")),
    ])
    technical = model.Submodel(f"{shell_id}/sm/TechnicalData", id_short="TechnicalData",
                               semantic_id=ref("https://admin-shell.io/ZVEI/TechnicalData/Submodel/1/2"),
                               submodel_element=[
        model.SubmodelElementCollection("TechnicalProperties", [
            _property("Weight", "0173-1#02-AAS627#001", kg, model.datatypes.Double),
        ], semantic_id=ref("https://admin-shell.io/ZVEI/TechnicalData/TechnicalProperties/1/1")),
    ])
    shell = model.AssetAdministrationShell(
        model.AssetInformation(model.AssetKind.TYPE, global_asset_id=_asset(name)), shell_id, id_short=f"C_{name}"
        .replace("-", "_"), submodel={model.ModelReference.from_referable(sm) for sm in (nameplate, technical)})
    return [shell, nameplate, technical]


def _relationship(id_short: str, kind: str, first: model.Referable, second: model.Reference
                  ) -> model.RelationshipElement:
    return model.RelationshipElement(id_short, model.ModelReference.from_referable(first), second,
                                     semantic_id=ref(f"{IDTA_HS}{kind}/1/0"))


def hierarchy_submodel(submodel_id: str, product_asset: str,
                       nodes: list[tuple[str, str, str, int, list[str]]]) -> model.Submodel:
    """An IDTA 02011 1.1 BoM (ArcheType Full): rows (idShort, description, component, BulkCount, alternatives).

    Alternatives are SameAs relationships to the other components' asset ids (this tool's convention)."""
    submodel = model.Submodel(submodel_id, id_short="HierarchicalStructures",
                              semantic_id=ref(f"{IDTA_HS}1/1/Submodel"))
    submodel.submodel_element.add(_property("ArcheType", f"{IDTA_HS}ArcheType/1/0", "Full"))
    entry = model.Entity("EntryNode", model.EntityType.SELF_MANAGED_ENTITY, global_asset_id=product_asset,
                         semantic_id=ref(f"{IDTA_HS}EntryNode/1/0"))
    submodel.submodel_element.add(entry)
    for id_short, text, component, count, alternatives in nodes:
        node = model.Entity(id_short, model.EntityType.SELF_MANAGED_ENTITY, global_asset_id=_asset(component),
                            semantic_id=ref(f"{IDTA_HS}Node/1/0"),
                            description=model.MultiLanguageTextType({"en": text}))
        entry.statement.add(node)
        node.statement.add(_property("BulkCount", f"{IDTA_HS}BulkCount/1/0", count, model.datatypes.UnsignedLong))
        node.statement.add(_relationship("IsPartOf", "IsPartOf", node, model.ModelReference.from_referable(entry)))
        for i, other in enumerate(alternatives, 1):
            node.statement.add(_relationship(f"SameAs{i:02d}" if len(alternatives) > 1 else "SameAs", "SameAs",
                                             node, ref(_asset(other))))
        entry.statement.add(_relationship(f"HasPart{id_short}", "HasPart", entry,
                                          model.ModelReference.from_referable(node)))
    return submodel


def conveyor_drive() -> list[model.Identifiable]:
    """A belt-conveyor drive unit whose BoM is an IDTA 02011 submodel; 5 positions, 2-3 options each.

    Motor, coupling and sensor are a component AAS each (Nameplate + Technical Data) with SameAs
    alternatives; the gearbox position lists its variants in a ComponentVariants submodel of the
    product AAS (weights from the variants' Technical Data); the inverter's in the component's AAS."""
    gearbox = PositionSpec("Gearbox", "Gearbox i=20", 1, variants=tuple(
        Variant(COMPONENTS[c][0], asset_id=_asset(c), compliance=ROHS_REACH,
                attributes=((contract.CO2E_PER_UNIT, co2),))
        for c, co2 in (("gearbox-helical", 38.0), ("gearbox-worm", 29.5))))
    request = Request("", "EUR", max_total_weight_kg=16.0, budget=1500.0,
                      weights=ObjectiveWeights(cost=1.0, co2_price_per_kg=0.08),
                      solver=SolverPreferences(method="auto"))
    offers = {
        "SUP-ELM": [Offer("MOT-IE3-0.75-4P", 289.0, "EUR", 1, 10), Offer("MOT-IE4-0.75-4P", 348.0, "EUR", 1, 14),
                    Offer("VFD-075-400", 262.0, "EUR", 1, 7), Offer("VFD-075-400-STO", 318.0, "EUR", 1, 7)],
        "SUP-KIN": [Offer("PMM-075-3000", 415.0, "EUR", 1, 21), Offer("MOT-IE4-0.75-4P", 356.0, "EUR", 1, 5)],
        "SUP-MRO": [Offer("CPL-JAW-24", 31.5, "EUR", 1, 3), Offer("CPL-DSC-24", 58.0, "EUR", 1, 5),
                    Offer("IND-M12-4-PNP", 24.9, "EUR", 1, 2), Offer("IND-M18-8-PNP", 27.4, "EUR", 1, 2),
                    Offer("IND-M12-4-IOL", 39.0, "EUR", 1, 4), Offer("GBX-HEL-20", 402.0, "EUR", 1, 12),
                    Offer("GBX-WRM-20", 318.0, "EUR", 1, 9)],
    }
    suppliers = (supplier("SUP-ELM", "Elmotec Vertrieb GmbH", "DE", 0.1, ("ISO9001",), offers["SUP-ELM"]),
                 supplier("SUP-KIN", "Kinetiq Drives AB", "SE", 0.2, ("ISO9001",), offers["SUP-KIN"]),
                 supplier("SUP-MRO", "Industrial MRO Supply", "NL", 0.15, ("ISO9001",), offers["SUP-MRO"]))
    objects = catalog_objects(Catalog(request, (gearbox,), suppliers, product_designation="Belt conveyor drive unit"),
                              CONVEYOR)
    product = next(o for o in objects if isinstance(o, model.AssetAdministrationShell) and o.id == f"{CONVEYOR}:aas")
    bom = hierarchy_submodel(f"{CONVEYOR}:aas/sm/HierarchicalStructures", f"{CONVEYOR}:asset", [
        ("Motor", "Drive motor 0.75 kW", "motor-ie3-075", 1, ["motor-ie4-075", "motor-pm-075"]),
        ("Gearbox", "Gearbox i=20", "gearbox-helical", 1, []),
        ("Coupling", "Shaft coupling motor-gearbox, gearbox-drum", "coupling-jaw-24", 2, ["coupling-disc-24"]),
        ("Inverter", "Frequency inverter", "vfd-075", 1, []),
        ("Sensor", "Belt position sensors", "sensor-ind-m12", 3, ["sensor-ind-m18", "sensor-ind-m12-io"]),
    ])
    product.submodel.add(model.ModelReference.from_referable(bom))
    objects.append(bom)
    for name in COMPONENTS:
        objects.extend(component_objects(name))
    # the inverter's variants live in its own AAS (ComponentVariants with PositionId = the Node's idShort)
    inverter_shell = next(o for o in objects if isinstance(o, model.AssetAdministrationShell)
                          and o.asset_information.global_asset_id == _asset("vfd-075"))
    inverter = position_submodel(PositionSpec("Inverter", "Frequency inverter", 1, variants=tuple(
        Variant(COMPONENTS[c][0], asset_id=_asset(c), compliance=ROHS_REACH) for c in ("vfd-075", "vfd-075-safe"))),
        f"{inverter_shell.id}/sm/ComponentVariants")
    inverter_shell.submodel.add(model.ModelReference.from_referable(inverter))
    objects.append(inverter)
    return objects


SAMPLES = {"drone": drone, "ebike-drive": ebike, "control-cabinet": control_cabinet}
# what each product is called: the shell's description, which ERP files use as the BoM's description
DESIGNATIONS = {"drone": "QX5 inspection quadcopter, 5 inch", "ebike-drive": "E-bike mid-drive unit, 250 W",
                "control-cabinet": "Robot cell RC7 control cabinet"}
OBJECT_SAMPLES = {"conveyor-drive-idta": conveyor_drive}


def sample(slug: str) -> Catalog:
    """The catalogue of the sample ``slug``, as its package holds it."""
    return dataclasses.replace(SAMPLES[slug](), product_designation=DESIGNATIONS[slug])


def write_sample(catalog: Catalog, path: Path, slug: str) -> None:
    write_aasx(path, catalog_objects(catalog, f"urn:aas-quantum:sample:{slug}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, metavar="N", help="write a synthetic BoM of N positions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="output file (synthetic) or folder (samples)")
    args = parser.parse_args()
    if args.synthetic:
        out = args.out or Path(f"synthetic-{args.synthetic}-{args.seed}.aasx")
        write_sample(synthetic_catalog(args.synthetic, args.seed), out, f"synthetic-{args.synthetic}-{args.seed}")
        print(out)
        return
    folder = args.out or HERE
    for slug in SAMPLES:
        write_sample(sample(slug), folder / f"{slug}.aasx", slug)
        print(folder / f"{slug}.aasx")
    for slug, objects in OBJECT_SAMPLES.items():
        write_aasx(folder / f"{slug}.aasx", objects())
        print(folder / f"{slug}.aasx")


if __name__ == "__main__":
    main()
