"""The demo district loaded by `flask --app wsgi seed-demo`: realistic, idempotent, and
extended by every capability so the demo always shows all of it working."""

import math
import random
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, select
from werkzeug.security import generate_password_hash

from mealservice.accounts.models import User
from mealservice.accounts.services import create_user
from mealservice.balances.models import BalanceMovement
from mealservice.balances.services import balance_of, top_up
from mealservice.claims.models import Claim
from mealservice.claims.services import grace_days, make_claim, month_bounds, previous_month
from mealservice.core.db import utcnow
from mealservice.core.errors import ApiError
from mealservice.counter.models import Terminal
from mealservice.counter.services import register_terminal
from mealservice.delivery.models import DeliveryRun
from mealservice.delivery.services import make_runs, report_no_answer, run_orders
from mealservice.elders.cards import issue_card, payload_of, revoke_card
from mealservice.elders.idnumber import make_id_number
from mealservice.elders.models import (
    AbilityLevel,
    Card,
    Category,
    Elder,
    ElderStatus,
    account_elders,
)
from mealservice.elders.protection import id_number_lookup_hash
from mealservice.elders.services import (
    create_elder,
    link_elders,
    linked_elder_ids,
    update_elder,
)
from mealservice.extensions import db
from mealservice.meals.models import Meal, Order, Rating, StandingOrder
from mealservice.meals.orders import place_order
from mealservice.meals.services import scan
from mealservice.meals.standing import add_hold, create_standing_order, place_standing_orders
from mealservice.menus.models import Menu
from mealservice.menus.services import create_menu
from mealservice.oversight.inspections import draw_inspections, record_result
from mealservice.oversight.models import CHECKLIST, Inspection
from mealservice.oversight.registry import set_filing, set_grade
from mealservice.oversight.warnings import raise_absence_alerts
from mealservice.places.models import Canteen, Community, District
from mealservice.places.services import create_canteen, create_community, create_district
from mealservice.policy.models import SubsidyPolicy
from mealservice.policy.services import create_policy, set_holiday

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
    # `elders` are indexes into demo_elders(): the couple of 保俶塔社区 that comes first.
    {
        "username": "inspector",
        "password": "demo-inspector-2026",
        "role": "inspector",
        "district": "330106",
    },
    {"username": "family", "password": "demo-family-2026", "role": "family", "elders": (0, 1)},
    {"username": "elder", "password": "demo-elder-2026", "role": "elder", "elders": (0,)},
    {
        "username": "volunteer",
        "password": "demo-volunteer-2026",
        "role": "volunteer",
        "canteen": "北山街道老年食堂",
    },
    # A daughter ordering for her mother, who lives alone a few streets away.
    {"username": "daughter", "password": "demo-daughter-2026", "role": "family", "elders": (2,)},
]

# The demo elders: made-up people, the same on every run. Ages are counted on a fixed
# date, not today, so the data (and what the tests check of it) never drifts.
ELDER_SEED = 330106
ELDER_COUNT = 300
REFERENCE_DATE = date(2026, 11, 24)
ZONE = ZoneInfo(DISTRICT["timezone"])


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Common surnames, the most common (in Hangzhou) first; drawn with falling weights.
SURNAMES = (
    "王陈张李徐沈周吴金朱钱杨俞方胡何孙陆蒋叶刘黄赵郑马高林罗郭"
    "汪潘姚章邵冯许施楼韩应丁袁蔡谢宋唐董程曹魏毛"
)
# Given names as that generation (born 1928–1966) was named.
MALE_GIVEN = _words(
    "建国 国强 志强 建华 德明 文华 国平 永康 根生 金根 "
    "福根 荣华 建平 国庆 卫东 长林 宝根 家良 正德 炳荣 "
    "水根 祖德 连生 金荣 振华 志明 守仁 庆丰 立新 解放 "
    "援朝 伟 明 军 勇 斌 林 华 海 强 刚 平 毅 忠"
)
FEMALE_GIVEN = _words(
    "秀英 桂英 秀兰 玉兰 桂兰 凤英 美华 丽华 玉珍 素珍 "
    "月娥 金花 彩凤 爱华 淑芬 秀珍 宝娣 雪梅 菊芳 杏娟 "
    "惠芬 美娟 根娣 亚萍 月仙 阿娟 萍 芳 英 红 琴 敏 "
    "丽 娟 梅 霞 珍"
)
# The community workers who record the elders' consent.
WORKERS = {
    "保俶塔社区": ("王芳", "李静"),
    "北山路社区": ("陈丽", "张敏"),
    "曙光社区": ("刘洋", "周婷"),
    "宝石社区": ("吴磊", "徐燕"),
    "文三社区": ("沈佳", "孙丹"),
    "学院路社区": ("朱琳", "胡晓"),
    "古荡湾社区": ("杨帆", "钱敏"),
    "嘉绿苑社区": ("金晶", "蒋欣"),
    "翠苑一区社区": ("叶青", "何慧"),
    "翠苑三区社区": ("陆瑶", "方圆"),
    "文华社区": ("俞倩", "郑琦"),
    "益乐社区": ("施雯", "邵华"),
}
MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "180 181 182 186 187 188 189"
)
# Most elders are in none or one category; the relative weights of the one drawn.
CATEGORY_WEIGHTS = {
    Category.EMPTY_NEST: 34,
    Category.LIVING_ALONE: 30,
    Category.LOW_INCOME: 8,
    Category.MINIMUM_ALLOWANCE: 6,
    Category.HANDICAPPED: 6,
    Category.FAMILY_PLANNING_SPECIAL: 4,
    Category.EXTREME_POVERTY: 2,
    Category.LEFT_BEHIND: 1,
}
# Ability weights (intact, mild, moderate, severe) below 85 and from 85.
ABILITY_WEIGHTS = {False: (60, 26, 11, 3), True: (30, 35, 23, 12)}
DIET_NOTES = (
    "糖尿病，少糖",
    "高血压，低盐",
    "软食",
    "花生过敏",
    "素食",
    "牙口不好，饭菜要烂",
    "痛风，少海鲜",
    "低脂",
    "不吃辣",
    "海鲜过敏",
)
HELP_WITH_TRAY = "需要帮忙端餐盘"


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
    elder_ids = seed_elders(district)
    seed_cards(elder_ids)
    seed_policy(district)
    seed_holidays()
    seed_last_month(list(canteens.values()), elder_ids)
    # This week and next: today's and tomorrow's menus are always there to order from.
    seed_menus(list(canteens.values()), this_week() + next_week())
    seed_balances(list(canteens.values()), elder_ids, this_week()[0])
    seed_meals(list(canteens.values()), this_week(), utcnow())
    seed_terminals(list(canteens.values()))
    seed_orders(list(canteens.values()), elder_ids, utcnow())
    seed_standing_orders(list(canteens.values()), elder_ids)
    # What the scheduler would place at its next run, placed now so the demo shows it.
    place_standing_orders()
    seed_ratings()
    printed = []
    for login in LOGINS:
        linked = [elder_ids[i] for i in login.get("elders", ())]
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
                elder_ids=linked,
            )
        else:
            # Keep the printed passwords (and the family and elder links) true even if
            # someone changed them while exploring.
            user.password_hash = generate_password_hash(login["password"])
            user.active = True
            if "elders" in login and linked_elder_ids(user) != sorted(linked):
                db.session.execute(
                    delete(account_elders).where(account_elders.c.user_id == user.id)
                )
                link_elders(user, linked)
        printed.append(
            {"role": login["role"], "username": login["username"], "password": login["password"]}
            | ({"elder_ids": linked} if "elders" in login else {})
        )
    db.session.flush()
    # After the logins: the volunteer's run needs the volunteer, an inspection the inspector.
    seed_deliveries(canteens["北山街道老年食堂"], elder_ids, utcnow())
    seed_oversight(district, list(canteens.values()), elder_ids)
    return printed


# The district's policy, after Shenzhen Futian's tiers and Jinan's flat 60+ discount
# (DOMAIN.md): a hardship tier, a 70+ tier and a small one for everyone 60+.
POLICY = {
    "effective_from": date(2026, 1, 1),
    "no_subsidy_on_holidays": True,
    "max_meals_per_slot": 1,
    "max_subsidized_per_day": 2,
    "refuse_beyond_limit": True,
    "delivery_subsidy_fen": 300,
    "tiers": [
        {
            "name": "困难老人",
            "categories": ["extreme_poverty", "minimum_allowance", "low_income", "living_alone"],
            "channel": "any",
            "amount_fen": 1500,
        },
        {"name": "80岁以上", "min_age": 80, "channel": "any", "amount_fen": 800},
        {"name": "70岁以上", "min_age": 70, "channel": "any", "amount_fen": 500},
        {"name": "60岁以上", "min_age": 60, "channel": "dine_in", "amount_fen": 200},
    ],
}

# The statutory holidays of 2026 (全国年节及纪念日放假办法, 13 days).
HOLIDAYS_2026 = {
    date(2026, 1, 1): "元旦",
    date(2026, 2, 16): "春节（除夕）",
    date(2026, 2, 17): "春节",
    date(2026, 2, 18): "春节",
    date(2026, 2, 19): "春节",
    date(2026, 4, 5): "清明节",
    date(2026, 5, 1): "劳动节",
    date(2026, 5, 2): "劳动节",
    date(2026, 6, 19): "端午节",
    date(2026, 9, 25): "中秋节",
    date(2026, 10, 1): "国庆节",
    date(2026, 10, 2): "国庆节",
    date(2026, 10, 3): "国庆节",
}


# A fortnight of set meals a Hangzhou elder canteen might cook, rotated over the week.
LUNCHES = [
    ("红烧鱼块", "清炒菠菜", "番茄蛋汤"),
    ("梅干菜烧肉", "蒜蓉西兰花", "紫菜汤"),
    ("宫保鸡丁", "香菇青菜", "冬瓜排骨汤"),
    ("清蒸鲈鱼", "油焖茄子", "丝瓜蛋汤"),
    ("土豆烧牛肉", "手撕包菜", "萝卜汤"),
    ("糖醋里脊", "炒三丝", "豆腐汤"),
    ("东坡肉", "清炒西葫芦", "榨菜肉丝汤"),
]
SOFT_LUNCHES = [
    ("肉末蒸蛋", "南瓜粥"),
    ("鱼片豆腐羹", "软米饭"),
    ("冬瓜肉丸", "小米粥"),
    ("番茄鸡蛋面", "蒸南瓜"),
    ("虾仁蒸蛋", "山药粥"),
    ("清炖狮子头", "软米饭"),
    ("鸡茸玉米羹", "红薯粥"),
]


def this_week(today: date | None = None) -> list[date]:
    """Monday to Sunday of the current week in the district's zone."""
    today = today or datetime.now(ZONE).date()
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def next_week(today: date | None = None) -> list[date]:
    return [day + timedelta(days=7) for day in this_week(today)]


def seed_menus(canteens: list[Canteen], days: list[date]) -> None:
    """Lunch at every place and dinner at the canteens, every day of the week."""
    for canteen in canteens:
        slots = ["lunch", "dinner"] if canteen.kind == "canteen" else ["lunch"]
        for day in days:
            for slot in slots:
                exists = db.session.scalar(
                    select(Menu.id).where(
                        Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot
                    )
                )
                if exists is None:
                    create_menu(canteen, _menu(canteen, day, slot))


def _menu(canteen: Canteen, day: date, slot: str) -> dict:
    rotation = (day.toordinal() + (1 if slot == "dinner" else 0)) % len(LUNCHES)
    delivers = "delivery" in canteen.functions
    cutoff = datetime.combine(day, datetime.min.time(), ZONE) + (
        timedelta(hours=9) if slot == "lunch" else timedelta(hours=15)
    )
    return {
        "date": day,
        "slot": slot,
        "seats": canteen.seats_per_meal,
        "order_cutoff": cutoff,
        "delivery_capacity": canteen.seats_per_meal // 3 if delivers else None,
        "options": [
            {
                "name": "营养套餐",
                "price_fen": 1800 if canteen.kind == "canteen" else 1500,
                "delivery_fee_fen": 500 if delivers else 0,
                "dishes": [*LUNCHES[rotation], "米饭"],
                "tags": ["low_salt"],
            },
            {
                "name": "软食套餐",
                "price_fen": 1500 if canteen.kind == "canteen" else 1200,
                "delivery_fee_fen": 500 if delivers else 0,
                "dishes": list(SOFT_LUNCHES[rotation]),
                "tags": ["soft", "low_sugar"],
            },
        ],
    }


# When the demo's elders come to eat, local time: most at the start of the window.
MEAL_TIMES = {"lunch": (11, 0, 90), "dinner": (17, 0, 60)}  # hour, minute, spread in minutes


def seed_meals(
    canteens: list[Canteen], days: list[date], now: datetime, shares: tuple[int, int] = (3, 12)
) -> None:
    """Meals of the days so far, scanned as the counters would have scanned them: this
    week, about a third of the elders eat lunch on a given day (1 in shares[0]), a few stay
    for dinner at a canteen (1 in shares[1]). A slot already served is left alone, so
    loading twice changes nothing."""
    elders = list(db.session.scalars(select(Elder).order_by(Elder.id)))
    # Each elder's working card: the newest generation, not revoked.
    cards = {
        card.elder_id: card
        for card in db.session.scalars(
            select(Card).where(Card.revoked_at.is_(None)).order_by(Card.generation)
        )
    }
    for day in days:
        for slot, (hour, minute, spread) in MEAL_TIMES.items():
            places = [c for c in canteens if slot == "lunch" or c.kind == "canteen"]
            rng = random.Random(f"{day}:{slot}")
            eaters = rng.sample(elders, len(elders) // shares[0 if slot == "lunch" else 1])
            start = datetime.combine(day, time(hour, minute), ZONE)
            for n, elder in enumerate(sorted(eaters, key=lambda e: e.id)):
                moment = start + timedelta(minutes=spread * n / len(eaters))
                if moment > now:
                    break
                canteen = _usual_place(elder, places)
                served = db.session.scalar(
                    select(Meal.id).where(
                        Meal.elder_id == elder.id, Meal.date == day, Meal.slot == slot
                    )
                )
                card = cards.get(elder.id)
                if served is None and card is not None:
                    _serve(canteen, card, slot, moment)


def claimable_month(district: District) -> str:
    """The latest month whose claims can be made today: last month, or the one before it
    in the first days of a month (the grace period)."""
    today = district.local_today()
    month = previous_month(today)
    _, last = month_bounds(month)
    if today <= last + timedelta(days=grace_days()):
        month = previous_month(month_bounds(month)[0])
    return month


def seed_last_month(canteens: list[Canteen], elder_ids: list[int]) -> None:
    """Last month's weekday meals with the mistakes a month of real counters makes, and
    each place's claim submitted for an official to review: an elder served twice, at two
    places, by a tablet that was offline; a card lost days before it was reported; an elder
    who died before the family told the community. Skipped once the claims exist."""
    district = canteens[0].district
    month = claimable_month(district)
    if db.session.scalar(select(exists().where(Claim.month == month))):
        return
    first, last = month_bounds(month)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    weekdays = [day for day in days if day.weekday() < 5 and day not in HOLIDAYS_2026]
    seed_menus(canteens, weekdays)
    seed_meals(canteens, weekdays, utcnow(), shares=(10, 40))
    _plant_offline_double(canteens, weekdays[5])
    _plant_late_lost_card(elder_ids, weekdays[8])
    _plant_late_death(elder_ids, weekdays[-6])
    clerk = SimpleNamespace(username="seed-demo", role="manager", canteen_id=None)
    for canteen in canteens:
        make_claim(clerk, canteen, month)


def _first_lunch(day: date, elder_ids: list[int]) -> Meal:
    return db.session.scalar(
        select(Meal)
        .where(Meal.date == day, Meal.slot == "lunch", Meal.elder_id.in_(elder_ids))
        .order_by(Meal.served_at)
        .limit(1)
    )


def _plant_offline_double(canteens: list[Canteen], day: date) -> None:
    """A tablet that lost its network queued a second lunch for an elder who had eaten at
    another place 25 minutes before: recorded as a conflict, unsubsidized, flagged."""
    meal = _first_lunch(day, [e.id for e in db.session.scalars(select(Elder))])
    other = next(c for c in canteens if c.id != meal.canteen_id)
    card = db.session.scalar(select(Card).where(Card.elder_id == meal.elder_id))
    scanned_at = meal.served_at + timedelta(minutes=25)
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    scan(
        counter,
        other,
        {"qr_payload": payload_of(card), "slot": "lunch", "scanned_at": scanned_at},
        now=scanned_at + timedelta(hours=2),
    )


def _plant_late_lost_card(elder_ids: list[int], lost_on: date) -> None:
    """A card lost on `lost_on`, reported a week later and replaced: the lunches someone
    had on it in between are flagged."""
    meal = _first_lunch(lost_on + timedelta(days=1), elder_ids[40:])
    card = db.session.get(Card, meal.card_id)
    revoke_card(card, "遗失（家属一周后报失）")
    card.revoked_at = datetime.combine(lost_on, time(9), ZONE)
    issue_card("seed-demo", card.elder)


def _plant_late_death(elder_ids: list[int], died_on: date) -> None:
    """An elder who died on `died_on`; the family told the community after the month
    ended, so the lunches recorded on the card afterwards are flagged."""
    later = (
        select(Meal.elder_id)
        .where(Meal.date > died_on, Meal.elder_id.in_(elder_ids[200:]))
        .group_by(Meal.elder_id)
        .order_by(func.count().desc(), Meal.elder_id)
        .limit(1)
    )
    elder = db.session.get(Elder, db.session.scalar(later))
    update_elder(elder, {"status": ElderStatus.DECEASED, "status_since": died_on})


def _usual_place(elder: Elder, places: list[Canteen]) -> Canteen:
    """The place nearest the elder's home: most elders eat round the corner."""
    home = (elder.lat, elder.lng) if elder.lat is not None else (30.27, 30.27)
    return min(places, key=lambda c: (c.lat - home[0]) ** 2 + (c.lng - home[1]) ** 2)


def _serve(canteen: Canteen, card: Card, slot: str, moment: datetime) -> None:
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    scanned = {"qr_payload": payload_of(card), "slot": slot}
    # Elders with a meal balance pay from it; when it runs short they pay cash.
    payments = [{"method": "balance"}, {"method": "cash"}] if balance_of(card.elder_id) else [{}]
    for payment in payments:
        try:
            with db.session.begin_nested():
                scan(counter, canteen, {**scanned, "payment": payment}, now=moment)
            return
        except ApiError as refusal:
            # A full canteen or an elder no longer active turns them away, as it would.
            if refusal.code != "insufficient_balance":
                return


# Every fourth elder keeps a meal balance, topped up on Monday morning; the family
# login's elders among them, so their relatives' page has a history to show.
TOP_UPS_FEN = (5000, 10000, 20000)


def seed_balances(canteens: list[Canteen], elder_ids: list[int], monday: date) -> None:
    """Top-ups at each elder's usual place, unless the elder has a balance history already."""
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    with_history = set(db.session.scalars(select(BalanceMovement.elder_id).distinct()))
    family = {elder_ids[i] for login in LOGINS for i in login.get("elders", ())}
    chosen = set(elder_ids[::4]) | family
    for n, elder in enumerate(db.session.scalars(select(Elder).where(Elder.id.in_(chosen)))):
        if elder.id in with_history:
            continue
        moment = datetime.combine(monday, time(9, 0), ZONE) + timedelta(minutes=n % 90)
        moment = min(moment, utcnow())
        method = "e_payment" if n % 3 == 0 else "cash"
        top_up(
            counter,
            _usual_place(elder, canteens),
            elder,
            TOP_UPS_FEN[n % len(TOP_UPS_FEN)],
            method,
            f"WX{4200000000 + elder.id}" if method == "e_payment" else None,
            now=moment,
        )


def seed_terminals(canteens: list[Canteen]) -> None:
    """A counter terminal at every place that has none (its token is not kept: a manager
    registers a tablet of their own on the terminals page)."""
    with_terminal = set(db.session.scalars(select(Terminal.canteen_id)))
    manager = SimpleNamespace(username="seed-demo", role="manager")
    for canteen in canteens:
        if canteen.id not in with_terminal:
            register_terminal(manager, canteen, "收银台1")


def seed_cards(elder_ids: list[int]) -> None:
    """A card for every demo elder who has none yet."""
    with_cards = set(db.session.scalars(select(Card.elder_id).where(Card.elder_id.in_(elder_ids))))
    for elder in db.session.scalars(select(Elder).where(Elder.id.in_(elder_ids))):
        if elder.id not in with_cards:
            issue_card("seed-demo", elder)


def seed_policy(district: District) -> None:
    exists = db.session.scalar(
        select(SubsidyPolicy.id).where(
            SubsidyPolicy.district_code == district.code,
            SubsidyPolicy.effective_from == POLICY["effective_from"],
        )
    )
    if exists is None:
        create_policy("seed-demo", district, POLICY)


def seed_holidays() -> None:
    for day, name in HOLIDAYS_2026.items():
        set_holiday(day, name)


def seed_elders(district: District) -> list[int]:
    """Register the demo elders not yet registered; their ids, in demo_elders() order."""
    elders = demo_elders()
    hashes = [id_number_lookup_hash(data["id_number"]) for data in elders]
    ids = dict(
        db.session.execute(
            select(Elder.id_number_hash, Elder.id).where(Elder.id_number_hash.in_(hashes))
        ).all()
    )
    for data, lookup in zip(elders, hashes, strict=True):
        if lookup not in ids:
            ids[lookup] = create_elder(None, {**data, "hukou_district": district.code}).id
    return [ids[lookup] for lookup in hashes]


def demo_elders() -> list[dict]:
    """ELDER_COUNT elders as create_elder takes them (less hukou_district), the same on
    every run: a couple in 保俶塔社区 first, then the rest spread over the communities."""
    rng = random.Random(ELDER_SEED)
    communities = [(street, *row) for street, rows in COMMUNITIES.items() for row in rows]
    # Some communities are older than others.
    weights = [rng.uniform(0.7, 1.3) for _ in communities]
    numbers: set[str] = set()
    age = rng.randint(74, 82)
    husband = _elder(rng, communities[0], numbers, male=True, age=age)
    husband["categories"] = [Category.EMPTY_NEST.value]
    wife = _elder(rng, communities[0], numbers, male=False, age=age - rng.randint(1, 4))
    wife |= {
        "address": husband["address"],
        "location": husband["location"],
        "categories": [Category.EMPTY_NEST.value],
    }
    elders = [husband, wife]
    while len(elders) < ELDER_COUNT:
        community = rng.choices(communities, weights)[0]
        elders.append(_elder(rng, community, numbers, male=rng.random() < 0.45))
    return elders


def _elder(rng: random.Random, community, numbers: set, *, male: bool, age=None) -> dict:
    street, code, community_name, lat, lng = community
    age = age or min(int(rng.triangular(60, 99, 74)), 98)
    ability = rng.choices(list(AbilityLevel), ABILITY_WEIGHTS[age >= 85])[0]
    return {
        "name": rng.choices(SURNAMES, range(len(SURNAMES), 0, -1))[0]
        + rng.choice(MALE_GIVEN if male else FEMALE_GIVEN),
        "id_number": _id_number(rng, age, male, numbers),
        "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        "address": f"杭州市西湖区{street}{community_name.removesuffix('社区')}小区"
        f"{rng.randint(1, 36)}幢{rng.randint(1, 4)}单元{rng.randint(1, 7)}0{rng.randint(1, 4)}室",
        "community": code,
        "location": _near(rng, lat, lng, 400),
        "categories": _categories(rng, ability),
        "ability_level": ability.value,
        "diet_notes": _diet_notes(rng, ability),
        "consent": {
            "given_at": _consent_time(rng),
            "recorded_by": f"{community_name} {rng.choice(WORKERS[community_name])}",
        },
    }


def _id_number(rng: random.Random, age: int, male: bool, numbers: set) -> str:
    """A made-up number for someone `age` years old on REFERENCE_DATE; the sequence's last
    digit (the 17th of the number) is odd for men and even for women."""
    latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
    earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1) + timedelta(days=1)
    while True:
        born = earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))
        number = make_id_number(DISTRICT["code"], born, rng.randrange(500) * 2 + male)
        if number not in numbers:
            numbers.add(number)
            return number


def _near(rng: random.Random, lat: float, lng: float, metres: float) -> dict:
    """A point spread evenly over the disc of `metres` around (lat, lng)."""
    distance = metres * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    return {
        "lat": round(lat + north / 111_320, 6),
        "lng": round(lng + east / (111_320 * math.cos(math.radians(lat))), 6),
    }


def _categories(rng: random.Random, ability: AbilityLevel) -> list[str]:
    chosen: set[Category] = set()
    wanted = rng.choices((0, 1, 2), (50, 38, 12))[0]
    while len(chosen) < wanted:
        chosen.add(rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0])
    if Category.LIVING_ALONE in chosen:
        chosen.discard(Category.EMPTY_NEST)  # living alone says it already
    if ability in (AbilityLevel.MODERATE, AbilityLevel.SEVERE) and rng.random() < 0.4:
        chosen.add(Category.DISABLED)  # 失能 by assessment
    return sorted(category.value for category in chosen)


def _diet_notes(rng: random.Random, ability: AbilityLevel) -> str | None:
    notes = []
    if rng.random() < 0.2:
        notes = rng.sample(DIET_NOTES, rng.choices((1, 2), (80, 20))[0])
    needs_help = ability in (AbilityLevel.MODERATE, AbilityLevel.SEVERE)
    if (needs_help and rng.random() < 0.4) or rng.random() < 0.02:
        notes.append(HELP_WITH_TRAY)
    return "；".join(notes) or None


def _consent_time(rng: random.Random) -> datetime:
    """A working day in 2026 before REFERENCE_DATE, in office hours, Hangzhou time."""
    first, last = date(2026, 1, 5), REFERENCE_DATE - timedelta(days=3)
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    day -= timedelta(days=max(day.weekday() - 4, 0))  # weekends move back to Friday
    minute = rng.randrange(8 * 60 + 30, 17 * 60)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=ZONE)


def seed_orders(canteens: list[Canteen], elder_ids: list[int], now: datetime) -> None:
    """The next open meal's bookings and delivery orders, as families and the canteens'
    phones take them: a couple of dozen elders, the family logins' elders among them."""
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        return
    family = [elder_ids[i] for login in LOGINS for i in login.get("elders", ())]
    rng = random.Random("orders")
    chosen = list(dict.fromkeys(family + rng.sample(elder_ids, 24)))
    for n, elder in enumerate(db.session.scalars(select(Elder).where(Elder.id.in_(chosen)))):
        canteen = _usual_place(elder, canteens)
        menu = db.session.scalar(
            select(Menu)
            .where(Menu.canteen_id == canteen.id, Menu.slot == "lunch", Menu.order_cutoff > now)
            .order_by(Menu.date)
            .limit(1)
        )
        delivers = "delivery" in canteen.functions and n % 2 == 0
        data = {
            "elder_id": elder.id,
            "menu_id": menu.id,
            "option_id": menu.options[n % 2].id,
            "channel": "delivery" if delivers else "dine_in",
        }
        if balance_of(elder.id):
            data["payment"] = {"method": "balance"}
        try:
            with db.session.begin_nested():
                order = place_order(None, data, now=now)
                order.placed_by = "seed-demo"
        except ApiError:
            # A full menu or an elder no longer active: the phone call ends there.
            pass


def seed_standing_orders(canteens: list[Canteen], elder_ids: list[int]) -> None:
    """Lunch delivered every weekday for a few elders living alone, as meals-on-wheels run
    it; one of them away in hospital for three days next week."""
    if db.session.scalar(select(StandingOrder.id).limit(1)) is not None:
        return
    delivering = [c for c in canteens if "delivery" in c.functions]
    candidates = db.session.scalars(
        select(Elder).where(Elder.id.in_(elder_ids[3:])).order_by(Elder.id)
    ).all()
    alone = [elder for elder in candidates if "living_alone" in elder.categories][:4]
    for n, elder in enumerate(alone):
        standing = create_standing_order(
            None,
            {
                "elder_id": elder.id,
                "canteen_id": _usual_place(elder, delivering).id,
                "slot": "lunch",
                "channel": "delivery",
                "weekdays": "1111100",
                "preferred_tag": "soft" if n % 2 else None,
            },
        )
        if n == 0:
            monday = next_week()[0]
            add_hold(None, standing, monday + timedelta(days=1), monday + timedelta(days=3), "住院")


RATING_COMMENTS = {
    5: ("菜很软，好嚼", "阿姨很热情", None),
    4: ("味道不错", None, "分量够"),
    3: ("一般", "米饭有点硬", None),
    2: ("太咸了", "送来时有点凉"),
    1: ("菜太硬，咬不动",),
}


def seed_ratings() -> None:
    """Some of the week's meals rated by the elders, a few of them badly."""
    if db.session.scalar(select(Rating.id).limit(1)) is not None:
        return
    rng = random.Random("ratings")
    meals = db.session.scalars(select(Meal).where(Meal.voided_at.is_(None)).order_by(Meal.id))
    for meal in meals:
        if rng.random() < 0.15:
            score = rng.choices((5, 4, 3, 2, 1), weights=(40, 30, 15, 10, 5))[0]
            db.session.add(
                Rating(
                    meal_id=meal.id,
                    elder_id=meal.elder_id,
                    canteen_id=meal.canteen_id,
                    score=score,
                    comment=rng.choice(RATING_COMMENTS[score]),
                    rated_by="seed-demo",
                    rated_at=meal.served_at + timedelta(hours=2),
                )
            )


def seed_deliveries(canteen: Canteen, elder_ids: list[int], now: datetime) -> None:
    """Today's lunch deliveries from the first canteen, ordered this morning: most in a run
    handed to the simulator (its outbox jobs go out when `make demo` has started the
    simulator and the scheduler, and the orders then move on the manager's page), a few in
    a volunteer's run, one of whose elders did not answer the door: a welfare alert."""
    today = canteen.district.local_today()
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == today, Menu.slot == "lunch")
    )
    if menu is None or db.session.scalar(select(DeliveryRun.id).limit(1)) is not None:
        return
    morning = min(datetime.combine(today, time(7, 30), ZONE), now)
    ordered = set(
        db.session.scalars(select(Order.elder_id).where(Order.date == today, Order.slot == "lunch"))
    )
    eaten = set(db.session.scalars(select(Meal.elder_id).where(Meal.date == today)))
    rng = random.Random("deliveries")
    chosen = [e for e in rng.sample(elder_ids, 60) if e not in ordered | eaten][:12]
    volunteer = db.session.scalar(select(User).where(User.username == "volunteer"))
    manager = SimpleNamespace(username="seed-demo", role="manager", canteen_id=canteen.id)
    for n, elder_id in enumerate(chosen):
        try:
            with db.session.begin_nested():
                place_order(
                    None,
                    {
                        "elder_id": elder_id,
                        "menu_id": menu.id,
                        "option_id": menu.options[n % 2].id,
                        "channel": "delivery",
                    },
                    now=morning - timedelta(minutes=n),
                )
                if n == 8:
                    # The last four go with the volunteer; the rest to the simulator.
                    make_runs(manager, canteen, today, "lunch", "simulator", now=morning)
        except ApiError:
            pass
    runs = make_runs(manager, canteen, today, "lunch", "volunteer", volunteer.id, now=morning)
    first = run_orders(runs[0])[0]
    report_no_answer(volunteer, first, now=morning + timedelta(hours=4))


def seed_oversight(district: District, canteens: list[Canteen], elder_ids: list[int]) -> None:
    """What officials oversee: every place filed (备案) and the canteens graded, a regular
    diner who stopped coming (a welfare alert), and a random inspection, one of whose
    results the inspector has recorded. Skipped once the inspections exist."""
    if db.session.scalar(select(Inspection.id).limit(1)) is not None:
        return
    official = SimpleNamespace(username="seed-demo", role="official", canteen_id=None)
    for number, canteen in enumerate(canteens, start=1):
        filed_on = date(2025, 3, 1) + timedelta(days=17 * number)
        set_filing(official, canteen, "filed", f"西民养备〔2025〕{number:03d}号", filed_on)
        if canteen.kind == "canteen":
            set_grade(official, canteen, 4 if number % 2 else 3, date(2026, 6, 30))
    _plant_absent_regular(canteens, elder_ids)
    raise_absence_alerts(utcnow())
    drawn = draw_inspections(official, district, 2, seed="demo")
    inspector = db.session.scalar(select(User).where(User.username == "inspector"))
    checklist = dict.fromkeys(CHECKLIST, True) | {"food_samples_kept": False}
    record_result(inspector, drawn[0], "rectify", checklist, "留样记录缺两天，限一周内整改。")


def _plant_absent_regular(canteens: list[Canteen], elder_ids: list[int]) -> None:
    """An elder who ate lunch most weekdays of the last two weeks and has not come for
    three days: the scheduler's early warning raises an alert for the community."""
    today = canteens[0].district.local_today()
    seen_lately = set(
        db.session.scalars(select(Meal.elder_id).where(Meal.date >= today - timedelta(days=3)))
    )
    elder = db.session.scalar(
        select(Elder)
        .where(Elder.id.in_(elder_ids[60:]), Elder.id.not_in(seen_lately))
        .order_by(Elder.id)
        .limit(1)
    )
    place = _usual_place(elder, canteens)
    days = [today - timedelta(days=n) for n in (14, 13, 12, 11, 7, 6, 5)]
    seed_menus([place], days)
    card = db.session.scalar(
        select(Card).where(Card.elder_id == elder.id, Card.revoked_at.is_(None))
    )
    for day in days:
        _serve(place, card, "lunch", datetime.combine(day, time(11, 20), ZONE))
