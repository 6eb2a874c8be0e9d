"""The demo district loaded by `flask --app wsgi seed-demo`: realistic, idempotent, and
extended by every capability so the demo always shows all of it working."""

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from mealservice.accounts.models import User
from mealservice.accounts.services import create_user
from mealservice.extensions import db
from mealservice.places.models import Canteen, Community, District
from mealservice.places.services import create_canteen, create_community, create_district

DISTRICT = {"code": "330106", "name": "杭州市西湖区", "timezone": "Asia/Shanghai"}

# street → communities (code, name, lat, lng)
COMMUNITIES = {
    "北山街道": [
        ("330106001001", "保俶塔社区", 30.2665, 120.1482),
        ("330106001002", "北山路社区", 30.2609, 120.1436),
        ("330106001003", "曙光社区", 30.2737, 120.1403),
        ("330106001004", "宝石社区", 30.2701, 120.1468),
    ],
    "西溪街道": [
        ("330106002001", "文三社区", 30.2791, 120.1382),
        ("330106002002", "学院路社区", 30.2823, 120.1322),
        ("330106002003", "古荡湾社区", 30.2808, 120.1268),
        ("330106002004", "嘉绿苑社区", 30.2889, 120.1291),
    ],
    "翠苑街道": [
        ("330106003001", "翠苑一区社区", 30.2912, 120.1205),
        ("330106003002", "翠苑三区社区", 30.2945, 120.1178),
        ("330106003003", "文华社区", 30.2881, 120.1149),
        ("330106003004", "益乐社区", 30.2851, 120.1220),
    ],
}

PLACES = [
    {
        "name": "北山街道老年食堂",
        "kind": "canteen",
        "community": "330106001003",
        "seats_per_meal": 120,
        "dining_area_m2": 180,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "public_private",
        "address": "杭州市西湖区曙光路65号",
        "location": {"lat": 30.2729, "lng": 120.1411},
        "monthly_operating_subsidy_fen": 1_500_000,
        "phone": "0571-87981234",
        "opening_hours": "06:30–19:00",
    },
    {
        "name": "西溪街道颐乐老年食堂",
        "kind": "canteen",
        "community": "330106002002",
        "seats_per_meal": 90,
        "dining_area_m2": 130,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "commissioned",
        "address": "杭州市西湖区学院路77号",
        "location": {"lat": 30.2818, "lng": 120.1331},
        "monthly_operating_subsidy_fen": 1_200_000,
        "phone": "0571-88851122",
        "opening_hours": "10:30–13:30, 16:30–18:30",
    },
    {
        "name": "翠苑街道中心老年食堂",
        "kind": "canteen",
        "community": "330106003002",
        "seats_per_meal": 80,
        "dining_area_m2": 110,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "public_run",
        "address": "杭州市西湖区翠苑三区28幢底商",
        "location": {"lat": 30.2939, "lng": 120.1186},
        "monthly_operating_subsidy_fen": 1_000_000,
        "phone": "0571-88216677",
        "opening_hours": "06:30–18:30",
    },
    {
        "name": "保俶塔社区助餐点",
        "kind": "meal_point",
        "community": "330106001001",
        "seats_per_meal": 24,
        "dining_area_m2": 40,
        "functions": ["dine_in"],
        "operator_type": "charity",
        "address": "杭州市西湖区保俶路50号社区服务中心一楼",
        "location": {"lat": 30.2671, "lng": 120.1476},
        "monthly_operating_subsidy_fen": 300_000,
    },
    {
        "name": "北山路社区助餐点",
        "kind": "meal_point",
        "community": "330106001002",
        "seats_per_meal": 16,
        "dining_area_m2": 28,
        "functions": ["dine_in"],
        "operator_type": "public_private",
        "address": "杭州市西湖区北山路84号",
        "location": {"lat": 30.2603, "lng": 120.1441},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "文三社区助餐点",
        "kind": "meal_point",
        "community": "330106002001",
        "seats_per_meal": 30,
        "dining_area_m2": 45,
        "functions": ["dine_in", "delivery"],
        "operator_type": "private",
        "address": "杭州市西湖区文三路259号",
        "location": {"lat": 30.2785, "lng": 120.1390},
        "monthly_operating_subsidy_fen": 300_000,
    },
    {
        "name": "古荡湾社区助餐点",
        "kind": "meal_point",
        "community": "330106002003",
        "seats_per_meal": 20,
        "dining_area_m2": 32,
        "functions": ["dine_in"],
        "operator_type": "charity",
        "address": "杭州市西湖区古荡湾新村12幢",
        "location": {"lat": 30.2803, "lng": 120.1275},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "文华社区助餐点",
        "kind": "meal_point",
        "community": "330106003003",
        "seats_per_meal": 18,
        "dining_area_m2": 30,
        "functions": ["dine_in"],
        "operator_type": "public_private",
        "address": "杭州市西湖区文华路9号",
        "location": {"lat": 30.2876, "lng": 120.1153},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "益乐社区助餐点",
        "kind": "meal_point",
        "community": "330106003004",
        "seats_per_meal": 20,
        "dining_area_m2": 35,
        "functions": ["dine_in", "delivery"],
        "operator_type": "commissioned",
        "address": "杭州市西湖区益乐路39号",
        "location": {"lat": 30.2846, "lng": 120.1226},
        "monthly_operating_subsidy_fen": 200_000,
    },
]

# Demo logins; seed-demo refuses to run in production, so these never guard real data.
LOGINS = [
    {"username": "admin", "password": "demo-admin-2026", "role": "admin"},
    {
        "username": "official",
        "password": "demo-official-2026",
        "role": "official",
        "district": "330106",
    },
    {
        "username": "manager",
        "password": "demo-manager-2026",
        "role": "manager",
        "canteen": "北山街道老年食堂",
    },
    {
        "username": "cashier",
        "password": "demo-cashier-2026",
        "role": "cashier",
        "canteen": "北山街道老年食堂",
    },
]


def seed() -> list[dict]:
    """Load the demo district; running it again changes nothing. Returns the logins."""
    district = db.session.get(District, DISTRICT["code"]) or create_district(DISTRICT)
    for street, communities in COMMUNITIES.items():
        for code, name, lat, lng in communities:
            if db.session.scalar(select(Community).where(Community.code == code)) is None:
                create_community(
                    district,
                    {
                        "code": code,
                        "name": name,
                        "street": street,
                        "location": {"lat": lat, "lng": lng},
                    },
                )
    canteens = {}
    for place in PLACES:
        # Found by community and kind, which a manager cannot change; names they can.
        canteen = db.session.scalar(
            select(Canteen)
            .join(Canteen.community)
            .where(Community.code == place["community"], Canteen.kind == place["kind"])
        )
        canteens[place["name"]] = canteen or create_canteen(
            None, {**place, "district": district.code}
        )
    for login in LOGINS:
        user = db.session.scalar(select(User).where(User.username == login["username"]))
        if user is None:
            canteen = canteens.get(login.get("canteen"))
            create_user(
                None,
                username=login["username"],
                password=login["password"],
                role=login["role"],
                district=login.get("district"),
                canteen_id=canteen.id if canteen else None,
            )
        else:
            # Keep the printed passwords true even if someone changed them while exploring.
            user.password_hash = generate_password_hash(login["password"])
            user.active = True
    db.session.flush()
    return LOGINS
