"""The demo's 300 elders: made-up people, the same on every run, as create_elder takes them."""

import math
import random
from datetime import date, datetime, timedelta

from mealservice.core.idnumber import make_id_number
from mealservice.demo.data import (
    COMMUNITIES,
    DISTRICT,
    ELDER_COUNT,
    ELDER_SEED,
    REFERENCE_DATE,
    ZONE,
)
from mealservice.elders.models import AbilityLevel, Category


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
DEMO_LOGIN_ELDER_NOTES = "糖尿病，少糖；花生过敏"
# The structured needs and allergies each note says, as the registry records them beside it.
DIET_NEEDS_OF_NOTE = {
    "糖尿病，少糖": "low_sugar",
    "高血压，低盐": "low_salt",
    "软食": "soft",
    "牙口不好，饭菜要烂": "soft",
}
ALLERGIES_OF_NOTE = {"花生过敏": "花生", "海鲜过敏": "海鲜", "痛风，少海鲜": "海鲜"}
# Who is called when an elder does not answer, with a weight: mostly a child.
CONTACT_RELATIONS = {"儿子": 42, "女儿": 42, "侄子": 6, "邻居": 10}
CONTACT_SHARE = 0.7  # elders who named an emergency contact when registering


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
    # The elder login's and the family login's own elder: diabetic and allergic to peanuts,
    # so their pages warn of the set meal that is not low in sugar (and of 宫保鸡丁).
    husband["diet_notes"] = DEMO_LOGIN_ELDER_NOTES
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
    # Drawn apart, so the elders above stay the same people they were before these fields.
    extra = random.Random(ELDER_SEED + 1)
    for elder in elders:
        elder |= _diet(elder["diet_notes"])
        if extra.random() < CONTACT_SHARE:
            elder["emergency_contact"] = _contact(extra, elder)
    return elders


def _diet(notes: str | None) -> dict:
    parts = (notes or "").split("；")
    return {
        "diet_needs": sorted({DIET_NEEDS_OF_NOTE[p] for p in parts if p in DIET_NEEDS_OF_NOTE}),
        "allergies": sorted({ALLERGIES_OF_NOTE[p] for p in parts if p in ALLERGIES_OF_NOTE}),
    }


def _contact(rng: random.Random, elder: dict) -> dict:
    relation = rng.choices(list(CONTACT_RELATIONS), list(CONTACT_RELATIONS.values()))[0]
    surname = elder["name"][0] if relation in ("儿子", "侄子") else rng.choice(SURNAMES[:20])
    given = rng.choice(MALE_GIVEN if relation in ("儿子", "侄子") else FEMALE_GIVEN)
    return {
        "name": surname + given,
        "relation": relation,
        "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        # Named with the elder's own consent, on the same visit.
        "consent": dict(elder["consent"]),
    }


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
